#include "core/source/tree_assembler.h"

#include "core/image/error.h"

namespace vdiskfs {

TreeAssembler::TreeAssembler(const EntrySpec& root, std::string source) : source_(std::move(source)) {
  if (!S_ISDIR(root.attrs.mode)) fail("the root of a tree must be a directory");
  to_list_.push_back(make_node(root, kNoIndex));
}

uint32_t TreeAssembler::make_node(const EntrySpec& spec, uint32_t first_link) {
  if (tree_.nodes.size() >= kMaxNodes) {
    if (source_.empty()) fail("too many entries in one source");
    fail("source {} holds too many entries", source_);
  }
  Node n = spec.attrs;
  n.first_link = first_link;
  n.nlink = n.is_dir() ? 2 : 0;  // a directory: "." and its name; others count their names
  n.flags = 0;
  const uint32_t node = uint32_t(tree_.nodes.size());
  if (n.is_symlink()) {
    n.aux = tree_.add_string(spec.link_target);
    n.size = spec.link_target.size();
  } else if (n.is_regular() && spec.sparse) {
    n.flags |= Node::kSparse;
    n.aux = uint64_t(tree_.segments.size()) | uint64_t(spec.segments.size()) << 32;
    tree_.segments.insert(tree_.segments.end(), spec.segments.begin(), spec.segments.end());
  } else if (!S_ISCHR(n.mode) && !S_ISBLK(n.mode)) {
    n.aux = 0;  // a directory's child range is set when its listing ends
  }
  if (!n.is_regular() && !n.is_symlink()) n.size = 0;
  for (const auto& [key, value] : spec.xattrs) {
    const uint32_t name_off = tree_.add_string(key);
    const uint32_t value_off = tree_.add_string(value);
    tree_.xattrs.push_back({node, name_off, uint32_t(key.size()), value_off, uint32_t(value.size())});
    n.flags |= Node::kXattrs;
  }
  tree_.nodes.push_back(n);
  return node;
}

void TreeAssembler::add_name(std::string_view name, uint32_t node) {
  if (dir_ == kNoIndex) fail("an entry added outside a directory listing");
  if (tree_.dirents.size() > child_begin_ && name_before(name, tree_.name(tree_.dirents.back())))
    fail("entry {} added after {}: a directory's entries come in name order", name,
         tree_.name(tree_.dirents.back()));
  if (tree_.nodes[node].is_dir()) ++tree_.nodes[dir_].nlink;  // the child's ".."
  else ++tree_.nodes[node].nlink;
  tree_.dirents.push_back({dir_, node, tree_.add_string(name), uint32_t(name.size())});
}

uint32_t TreeAssembler::add_new(std::string_view name, const EntrySpec& spec, bool list) {
  const uint32_t node = make_node(spec, uint32_t(tree_.dirents.size()));
  add_name(name, node);
  if (list && tree_.nodes[node].is_dir()) subdirs_.push_back(node);
  return node;
}

void TreeAssembler::add_link(std::string_view name, uint32_t node) {
  if (tree_.nodes[node].is_dir()) fail("a hard link to a directory");
  add_name(name, node);
}

void TreeAssembler::end_directory() {
  if (dir_ == kNoIndex) return;
  tree_.nodes[dir_].aux = uint64_t(child_begin_) | uint64_t(tree_.dirents.size() - child_begin_) << 32;
  // Pushed in reverse so the walk lists subdirectories in name order.
  to_list_.insert(to_list_.end(), subdirs_.rbegin(), subdirs_.rend());
  subdirs_.clear();
  dir_ = kNoIndex;
}

uint32_t TreeAssembler::next_directory() {
  end_directory();
  if (to_list_.empty()) return kNoIndex;
  dir_ = to_list_.back();
  to_list_.pop_back();
  child_begin_ = uint32_t(tree_.dirents.size());
  return dir_;
}

Tree TreeAssembler::finish() {
  end_directory();
  to_list_.clear();
  return std::move(tree_);
}

}  // namespace vdiskfs
