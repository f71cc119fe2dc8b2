#include "core/source/tree.h"

#include <algorithm>
#include <stdexcept>

#include "core/source/tree_assembler.h"

namespace vdiskfs {

void Tree::data_segments(uint32_t node, std::vector<DataSegment>& out) const {
  out.clear();
  const Node& n = nodes[node];
  if (!n.is_regular() || n.size == 0) return;
  if (n.flags & Node::kSparse) {
    const uint32_t first = uint32_t(n.aux), count = uint32_t(n.aux >> 32);
    out.assign(segments.begin() + first, segments.begin() + first + count);
  } else {
    out.push_back({0, n.size});
  }
}

std::string Tree::relative_path(uint32_t node) const {
  std::vector<std::string_view> parts;
  while (node != 0 && node != kNoIndex) {
    const Dirent& d = dirents[nodes[node].first_link];
    parts.push_back(name(d));
    node = d.parent;
  }
  std::string path;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (!path.empty()) path += '/';
    path += *it;
  }
  return path;
}

uint64_t Tree::data_bytes() const {
  uint64_t total = 0;
  for (const Node& n : nodes) {
    if (!n.is_regular()) continue;
    if (n.flags & Node::kSparse) {
      const uint32_t first = uint32_t(n.aux), count = uint32_t(n.aux >> 32);
      for (uint32_t i = 0; i < count; ++i) total += segments[first + i].length;
    } else {
      total += n.size;
    }
  }
  return total;
}

std::pair<const Xattr*, const Xattr*> Tree::xattrs_of(uint32_t node) const {
  if (!(nodes[node].flags & Node::kXattrs)) return {nullptr, nullptr};
  auto first = std::lower_bound(xattrs.begin(), xattrs.end(), node,
                                [](const Xattr& x, uint32_t n) { return x.node < n; });
  auto last = first;
  while (last != xattrs.end() && last->node == node) ++last;
  return {xattrs.data() + (first - xattrs.begin()), xattrs.data() + (last - xattrs.begin())};
}

uint32_t Tree::lookup(std::string_view path) const {
  uint32_t node = 0;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (part.empty()) continue;
    const Node& dir = nodes[node];
    if (!dir.is_dir()) return kNoIndex;
    // Children are in name order (TreeAssembler): binary search.
    const Dirent* first = dirents.data() + child_begin(dir);
    const Dirent* last = first + child_count(dir);
    const auto before = [this](const Dirent& d, std::string_view n) { return name_before(name(d), n); };
    const Dirent* it = std::lower_bound(first, last, part, before);
    if (it == last || name(*it) != part) return kNoIndex;
    node = it->node;
  }
  return node;
}

uint32_t Tree::add_string(std::string_view s) {
  if (strings.size() + s.size() > 0xffffffffu)
    throw std::runtime_error("tree too large: names and link targets exceed 4 GiB");
  const uint32_t off = uint32_t(strings.size());
  strings.append(s);
  return off;
}

void for_each_path(const Tree& tree, uint32_t root,
                   const std::function<bool(const Dirent& entry, const std::string& path)>& visit) {
  std::vector<std::pair<uint32_t, std::string>> to_walk{{root, ""}};
  while (!to_walk.empty()) {
    auto [dir, prefix] = std::move(to_walk.back());
    to_walk.pop_back();
    const Node& d = tree.nodes[dir];
    for (uint32_t i = tree.child_begin(d); i < tree.child_begin(d) + tree.child_count(d); ++i) {
      const Dirent& e = tree.dirents[i];
      std::string path = prefix.empty() ? std::string(tree.name(e)) : prefix + "/" + std::string(tree.name(e));
      if (visit(e, path) && tree.nodes[e.node].is_dir()) to_walk.emplace_back(e.node, std::move(path));
    }
  }
}

}  // namespace vdiskfs
