#include "core/source/tree_builder.h"

#include <algorithm>
#include <cstring>

#include "core/image/error.h"

namespace vdiskfs {

struct TreeBuilder::Pending {
  uint32_t parent = kNoIndex;
  std::string name;
  EntrySpec spec;
  uint32_t inode_of = kNoIndex;  // a hard link: the entry whose file this names
  std::vector<uint32_t> children;
  bool linked = false;    // hard links name this entry's file
  bool unnamed = false;   // its name went to a newer entry; only hard links reach it
};

namespace {

std::string child_key(uint32_t parent, std::string_view name) {
  std::string key(sizeof parent, '\0');
  std::memcpy(key.data(), &parent, sizeof parent);
  key.append(name);
  return key;
}

}  // namespace

std::string normalize_entry_path(std::string_view path, std::vector<std::string_view>& parts) {
  parts.clear();
  if (!path.empty() && path.front() == '/') return "absolute path refused";
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty() || part == ".") continue;
    if (part == "..") return "path with '..' refused";
    if (part.size() > 255) return "a name longer than 255 bytes";
    parts.push_back(part);
  }
  return "";
}

EntrySpec entry_spec_of(const Tree& tree, uint32_t n) {
  const Node& node = tree.nodes[n];
  EntrySpec spec;
  spec.attrs = node;
  spec.payload = n;
  if (node.is_symlink()) spec.link_target = std::string(tree.link_target(node));
  if (node.is_regular() && (node.flags & Node::kSparse)) {
    spec.sparse = true;
    tree.data_segments(n, spec.segments);
  }
  auto [x, end] = tree.xattrs_of(n);
  for (; x != end; ++x) spec.xattrs.emplace_back(tree.xattr_name(*x), tree.xattr_value(*x));
  return spec;
}

std::optional<std::string> normalized_entry_path(std::string_view path, std::string& why) {
  std::vector<std::string_view> parts;
  why = normalize_entry_path(path, parts);
  if (!why.empty()) return std::nullopt;
  std::string out;
  for (std::string_view p : parts) out.append(out.empty() ? "" : "/").append(p);
  return out;
}

TreeBuilder::TreeBuilder(const Node& implied_dir) : implied_dir_(implied_dir) {
  implied_dir_.mode = S_IFDIR | (implied_dir.mode & 07777);
  pending_.emplace_back();
  pending_[0].spec.attrs = implied_dir_;
}

TreeBuilder::~TreeBuilder() = default;

void TreeBuilder::reserve(size_t entries) {
  pending_.reserve(entries);
  by_name_.reserve(entries);
}

uint32_t TreeBuilder::find_child(uint32_t dir, std::string_view name) const {
  auto it = by_name_.find(child_key(dir, name));
  return it == by_name_.end() ? kNoIndex : it->second;
}

uint32_t TreeBuilder::place(uint32_t parent, std::string_view name) {
  const uint32_t index = uint32_t(pending_.size());
  auto [it, added] = by_name_.emplace(child_key(parent, name), index);
  if (!added) return it->second;
  if (pending_.size() >= TreeAssembler::kMaxNodes) fail("too many entries in one source");
  Pending p;
  p.parent = parent;
  p.name = std::string(name);
  p.spec.attrs = implied_dir_;
  pending_.push_back(std::move(p));
  pending_[parent].children.push_back(index);
  return index;
}

// A name that is about to get another file: if hard links name the file
// of `index`, that file stays theirs (as extraction unlinks the name and
// keeps the inode) and the name moves to a fresh entry, returned.
uint32_t TreeBuilder::renew(uint32_t index) {
  if (!pending_[index].linked) return index;
  if (pending_.size() >= TreeAssembler::kMaxNodes) fail("too many entries in one source");
  const uint32_t parent = pending_[index].parent;
  pending_[index].unnamed = true;
  Pending p;
  p.parent = parent;
  p.name = pending_[index].name;
  p.spec.attrs = implied_dir_;
  const uint32_t fresh = uint32_t(pending_.size());
  by_name_[child_key(parent, p.name)] = fresh;
  pending_.push_back(std::move(p));
  pending_[parent].children.push_back(fresh);
  return fresh;
}

// Forgets the children of `index` (replaced by a non-directory): their
// names can no longer be found, so a later entry of the same path starts
// afresh and a hard link cannot name a file below what replaced them.
void TreeBuilder::drop_children(uint32_t index) {
  for (uint32_t c : pending_[index].children) by_name_.erase(child_key(index, pending_[c].name));
  pending_[index].children.clear();
}

std::string TreeBuilder::walk_to_parent(const std::vector<std::string_view>& parts, uint32_t& parent) {
  parent = 0;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const uint32_t child = place(parent, parts[i]);
    const Pending& p = pending_[child];
    // Never through a symlink or a file: extracting such a path is how
    // archives write outside the target.
    if (p.inode_of != kNoIndex || !S_ISDIR(p.spec.attrs.mode))
      return "a parent (" + std::string(parts[i]) + ") is not a directory";
    parent = child;
  }
  return "";
}

std::string TreeBuilder::add(std::string_view path, EntrySpec spec) {
  std::vector<std::string_view> parts;
  if (std::string why = normalize_entry_path(path, parts); !why.empty()) return why;
  const bool is_dir = S_ISDIR(spec.attrs.mode);
  if (parts.empty()) {
    if (!is_dir) return "the root entry is not a directory";
    pending_[0].spec = std::move(spec);
    return "";
  }
  uint32_t parent;
  if (std::string why = walk_to_parent(parts, parent); !why.empty()) return why;
  const uint32_t index = renew(place(parent, parts.back()));
  // A later entry replaces an earlier one, as extraction would; a
  // directory replaced by a directory keeps its children.
  if (!is_dir || pending_[index].inode_of != kNoIndex || !S_ISDIR(pending_[index].spec.attrs.mode))
    drop_children(index);
  Pending& p = pending_[index];
  p.inode_of = kNoIndex;
  p.spec = std::move(spec);
  return "";
}

std::string TreeBuilder::add_hard_link(std::string_view path, std::string_view target) {
  std::vector<std::string_view> target_parts;
  if (std::string why = normalize_entry_path(target, target_parts); !why.empty()) return "link target: " + why;
  uint32_t at = target_parts.empty() ? 0 : kNoIndex;
  if (!target_parts.empty()) {
    uint32_t dir = 0;
    for (size_t i = 0; i < target_parts.size() && dir != kNoIndex; ++i) {
      at = find_child(dir, target_parts[i]);
      dir = at;
    }
  }
  if (at == kNoIndex) return "hard link to " + std::string(target) + ", which is not in the archive before it";
  if (pending_[at].inode_of != kNoIndex) at = pending_[at].inode_of;
  if (S_ISDIR(pending_[at].spec.attrs.mode)) return "hard link to a directory";
  std::vector<std::string_view> parts;
  if (std::string why = normalize_entry_path(path, parts); !why.empty()) return why;
  if (parts.empty()) return "hard link named as the root";
  uint32_t parent;
  if (std::string why = walk_to_parent(parts, parent); !why.empty()) return why;
  uint32_t index = place(parent, parts.back());
  if (index == at) return "";  // a link to itself names nothing new
  index = renew(index);
  drop_children(index);
  pending_[at].linked = true;
  pending_[index].inode_of = at;
  pending_[index].spec = EntrySpec{};
  return "";
}

Tree TreeBuilder::finish(std::vector<uint64_t>& payloads) {
  payloads.clear();
  std::vector<uint32_t> node_of(pending_.size(), kNoIndex);  // by pending index
  std::vector<uint32_t> index_of;                            // by node: pending index
  // Adds the entry `index` as a node; its spec is freed as we go.
  auto add_node = [&](uint32_t node, uint32_t index) {
    payloads.push_back(pending_[index].spec.payload);
    index_of.push_back(index);
    node_of[index] = node;
    pending_[index].spec = EntrySpec{};
  };
  TreeAssembler assembler(pending_[0].spec);
  add_node(0, 0);
  for (uint32_t dir = assembler.next_directory(); dir != kNoIndex; dir = assembler.next_directory()) {
    std::vector<uint32_t> children = std::move(pending_[index_of[dir]].children);
    std::sort(children.begin(), children.end(),
              [&](uint32_t a, uint32_t b) { return name_before(pending_[a].name, pending_[b].name); });
    for (uint32_t c : children) {
      if (pending_[c].unnamed) continue;
      const uint32_t target = pending_[c].inode_of != kNoIndex ? pending_[c].inode_of : c;
      const std::string& name = pending_[c].name;
      if (node_of[target] != kNoIndex) assembler.add_link(name, node_of[target]);
      else add_node(assembler.add_new(name, pending_[target].spec), target);
    }
  }
  pending_.clear();
  by_name_.clear();
  return assembler.finish();
}

}  // namespace vdiskfs
