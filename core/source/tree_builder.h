#pragma once
// Builds a Tree from entries that arrive by path in any order, as archives
// and listings deliver them (a tar, later a tar chain), and hands them to
// TreeAssembler (which owns the tree's order and link counts) when it
// finishes. The rules of entries by path are here: parents that were
// never named are implied, a later entry for the same path replaces the
// earlier one (hard links made before it keep the file they named, as after
// extraction), hard links share their target's node. Paths are checked:
// absolute paths, ".." and paths through a non-directory are refused.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/source/tree.h"
#include "core/source/tree_assembler.h"

namespace vdiskfs {

// Splits an archive path into checked components ("./a//b/" -> a, b).
// Returns "" or why the path is refused.
std::string normalize_entry_path(std::string_view path, std::vector<std::string_view>& parts);
// The same path as one string ("./a//b/" -> "a/b", "./" -> ""), or nullopt
// when it is refused (`why` says why).
std::optional<std::string> normalized_entry_path(std::string_view path, std::string& why);

// Node `n` of another tree as an entry to add (a view, a chain): its
// attributes, link target, holes and xattrs; payload = n.
EntrySpec entry_spec_of(const Tree& tree, uint32_t n);

class TreeBuilder {
 public:
  // Implied directories (named only as parents) get these attributes.
  explicit TreeBuilder(const Node& implied_dir);
  ~TreeBuilder();

  // Room for about `entries` entries (a hint; avoids rehashing).
  void reserve(size_t entries);

  // Adds or replaces the entry at `path`; an empty path (".", "./") sets the
  // root's attributes. Returns "" or why the entry was refused.
  std::string add(std::string_view path, EntrySpec spec);
  // Adds `path` as another name of the file at `target`.
  std::string add_hard_link(std::string_view path, std::string_view target);

  // The finished tree, assembled by TreeAssembler, and each node's
  // payload (indexed by node).
  Tree finish(std::vector<uint64_t>& payloads);

 private:
  struct Pending;
  uint32_t find_child(uint32_t dir, std::string_view name) const;
  std::string walk_to_parent(const std::vector<std::string_view>& parts, uint32_t& parent);
  uint32_t place(uint32_t parent, std::string_view name);
  uint32_t renew(uint32_t index);
  void drop_children(uint32_t index);

  Node implied_dir_;
  std::vector<Pending> pending_;  // [0] is the root
  // (parent index, name) -> pending index; the key is 4 bytes of parent + name.
  std::unordered_map<std::string, uint32_t> by_name_;
};

}  // namespace vdiskfs
