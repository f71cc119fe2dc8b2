#pragma once
// The one owner of the tree's rules, whatever the source: a Tree is
// assembled here, and only here, from a walk that lists one directory at a
// time. The rules:
//  - nodes are numbered in walk order: the root is node 0; a directory's
//    entries are added in name order (name_before), each new file taking
//    the next node; the walk is depth first, a directory's subdirectories
//    listed in name order after it;
//  - a directory's dirents are contiguous (Node::aux holds their range);
//  - link counts: a directory has 2 ("." and its name) plus one per
//    subdirectory (its ".."); any other node one per name; hard links to a
//    directory do not exist;
//  - a node's first_link is the dirent that named it first;
//  - a node's aux and size are what its type says (Tree, Node), its flags
//    say whether it is sparse and has xattrs; xattrs are kept by node.
// Sources turn what they read into EntrySpecs; the directory scan adds
// them as it lists, TreeBuilder (entries by path, in any order) when it
// finishes.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/source/tree.h"

namespace vdiskfs {

// The order of the names in a directory: bytewise, as memcmp compares (the
// order Tree::lookup's binary search relies on).
inline bool name_before(std::string_view a, std::string_view b) { return a < b; }

// One entry as a source describes it.
struct EntrySpec {
  Node attrs;                         // mode, owners, times, size; aux = rdev for devices
  std::string link_target;            // symlinks
  bool sparse = false;                // data only in `segments`, holes elsewhere
  std::vector<DataSegment> segments;  // sparse regular files
  std::vector<std::pair<std::string, std::string>> xattrs;  // (full name, value), in the order kept
  uint64_t payload = 0;  // the source's own locator (a tar: data offset); TreeBuilder keeps it by node
};

class TreeAssembler {
 public:
  // Most nodes (and entries) a tree holds: its indexes are 32 bits, with
  // kNoIndex and a margin above.
  static constexpr size_t kMaxNodes = 0xfffffff0u;

  // Starts a tree whose root (node 0) is made from `root`, a directory; the
  // root is the first directory the walk lists. `source` names the source
  // in the refusal past kMaxNodes (its path, as the user gave it; empty:
  // the refusal names none).
  explicit TreeAssembler(const EntrySpec& root, std::string source = {});

  // Ends the directory being listed and starts the next one of the walk:
  // returns its node, or kNoIndex when every directory has been listed.
  uint32_t next_directory();

  // Adds `name` to the directory being listed as a new node made from
  // `spec`; returns the node. A new directory is listed later in the walk
  // unless `list` is false (it stays empty: a mount point not descended).
  // Throws Error past kMaxNodes (naming the source), or when names come out of name order.
  uint32_t add_new(std::string_view name, const EntrySpec& spec, bool list = true);

  // Adds `name` to the directory being listed as another name of `node`, a
  // node added before that is not a directory. Throws Error as add_new.
  void add_link(std::string_view name, uint32_t node);

  // The tree so far (for paths and counts during the walk).
  const Tree& tree() const { return tree_; }

  // Ends the walk and hands over the tree.
  Tree finish();

 private:
  uint32_t make_node(const EntrySpec& spec, uint32_t first_link);
  void add_name(std::string_view name, uint32_t node);
  void end_directory();

  std::string source_;               // what the refusals name
  Tree tree_;
  uint32_t dir_ = kNoIndex;          // the directory being listed
  uint32_t child_begin_ = 0;         // its first dirent
  std::vector<uint32_t> subdirs_;    // its subdirectories to list, in name order
  std::vector<uint32_t> to_list_;    // directories still to list, the next at the back
};

}  // namespace vdiskfs
