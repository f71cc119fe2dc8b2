#pragma once
// The file tree model: what a source holds, independent of where it came
// from and of the filesystem it will become.
//
// Nodes are inodes (one per file, hard links share one); dirents are names.
// nodes[0] is the root directory. A directory's children are the contiguous
// dirents [child_begin, child_begin + child_count), in name order. Sources
// make trees with TreeAssembler, the owner of these rules (order, link
// counts). Names and link targets live in one string arena so a million
// entries stay small.
#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/source/timestamp.h"

namespace vdiskfs {

inline constexpr uint32_t kNoIndex = 0xffffffffu;

// A byte range of a regular file that holds data (not a hole).
struct DataSegment {
  uint64_t offset;
  uint64_t length;
};

struct Node {
  uint32_t mode = 0;        // S_IFMT type bits and the 12 permission bits
  uint32_t uid = 0, gid = 0;
  uint32_t nlink = 0;       // names of this node inside the tree
  Timestamp atime, mtime, ctime, btime;  // btime zero: unknown
  uint64_t size = 0;        // bytes (regular files, symlink target length)
  // Directory: first child dirent (lo 32) and child count (hi 32).
  // Symlink: offset of the target in the string arena.
  // Device: rdev. Sparse regular file: first segment (lo) and count (hi).
  uint64_t aux = 0;
  uint32_t first_link = kNoIndex;  // a dirent naming this node (path lookup)
  uint32_t flags = 0;

  static constexpr uint32_t kSparse = 1;   // data listed in Tree::segments
  static constexpr uint32_t kXattrs = 2;   // extended attributes in Tree::xattrs

  bool is_dir() const { return S_ISDIR(mode); }
  bool is_regular() const { return S_ISREG(mode); }
  bool is_symlink() const { return S_ISLNK(mode); }
};

// An extended attribute ("security.capability" = bytes) of a node.
struct Xattr {
  uint32_t node;
  uint32_t name_off, name_len;    // full name, in the string arena
  uint32_t value_off, value_len;  // value bytes, in the string arena
};

struct Dirent {
  uint32_t parent;    // node of the containing directory
  uint32_t node;      // node this name refers to
  uint32_t name_off;  // into the string arena
  uint32_t name_len;
};

class Tree {
 public:
  std::vector<Node> nodes;
  std::vector<Dirent> dirents;
  std::string strings;                // names and symlink targets
  std::vector<DataSegment> segments;  // data of sparse files
  std::vector<Xattr> xattrs;          // sorted by node

  std::string_view name(const Dirent& d) const {
    return std::string_view(strings).substr(d.name_off, d.name_len);
  }
  std::string_view link_target(const Node& n) const {
    return std::string_view(strings).substr(n.aux, n.size);
  }
  uint32_t child_begin(const Node& dir) const { return uint32_t(dir.aux); }
  uint32_t child_count(const Node& dir) const { return uint32_t(dir.aux >> 32); }

  // The data ranges of a regular file, holes left out.
  void data_segments(uint32_t node, std::vector<DataSegment>& out) const;
  // Path of a node relative to the root ("" for the root itself).
  std::string relative_path(uint32_t node) const;
  // Bytes of file data (holes excluded) over the whole tree.
  uint64_t data_bytes() const;
  std::string_view xattr_name(const Xattr& x) const {
    return std::string_view(strings).substr(x.name_off, x.name_len);
  }
  std::string_view xattr_value(const Xattr& x) const {
    return std::string_view(strings).substr(x.value_off, x.value_len);
  }
  // The extended attributes of a node (empty for most).
  std::pair<const Xattr*, const Xattr*> xattrs_of(uint32_t node) const;
  // Node at a relative path ("etc/fstab"), without following symlinks;
  // kNoIndex if there is none.
  uint32_t lookup(std::string_view path) const;
  // Appends a string to the arena; returns its offset.
  uint32_t add_string(std::string_view s);
};

// Calls visit(dirent, path) for every entry below directory `root`, depth
// first, with its path relative to `root` ("a/b"); a directory's entries
// are visited when visit returns true for it.
void for_each_path(const Tree& tree, uint32_t root,
                   const std::function<bool(const Dirent& entry, const std::string& path)>& visit);

}  // namespace vdiskfs
