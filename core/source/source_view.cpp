#include "core/source/source_view.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

#include "core/image/error.h"
#include "core/source/tree_builder.h"

namespace vdiskfs {
namespace {

constexpr uint64_t kGenerated = 1ull << 63;
constexpr uint64_t kAlias = 1ull << 62;  // a node reading another's bytes: not where the base's order puts them

// Whether view path `path` lies in a cut directory (not in the view).
bool in_cut(const std::set<std::string>& cut, const std::string& path) {
  for (std::string_view p = path; !p.empty();) {
    if (cut.count(std::string(p))) return p != path;
    const size_t slash = p.rfind('/');
    p = slash == std::string_view::npos ? std::string_view() : p.substr(0, slash);
  }
  return false;
}

std::string join(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  return std::string(a) + "/" + std::string(b);
}

void check_added(const std::string& why, const std::string& path) {
  if (!why.empty()) fail("view entry {}: {}", path, why);
}

}  // namespace

SourceView::SourceView(const Source& base, const ViewSpec& spec)
    : base_(base), describe_(spec.describe.empty() ? base.describe() + ", " + spec.root : spec.describe) {
  const Tree& t = base.tree();
  uint32_t root = spec.root.empty() ? 0 : t.lookup(spec.root);
  const bool empty = root == kNoIndex && spec.missing_root_empty;
  if (empty) root = 0;
  if (root == kNoIndex || !t.nodes[root].is_dir()) fail("{}: {} is not a directory", base.describe(), spec.root);
  Node implied = t.nodes[root];
  implied.mode = S_IFDIR | 0755;
  TreeBuilder builder(implied);
  builder.reserve(t.dirents.size());
  EntrySpec root_spec = entry_spec_of(t, root);
  if (empty) root_spec = EntrySpec{implied, {}, false, {}, {}, 0};
  check_added(builder.add("", std::move(root_spec)), "/");

  const std::set<std::string> cut(spec.cut.begin(), spec.cut.end());
  std::unordered_map<uint32_t, std::string> first_name;  // base node of several names -> its first view path
  if (!empty)
    for_each_path(t, root, [&](const Dirent& e, const std::string& path) {
      const Node& n = t.nodes[e.node];
      if (!n.is_dir() && n.nlink > 1) {
        auto [it, first] = first_name.emplace(e.node, path);
        if (!first) {
          check_added(builder.add_hard_link(path, it->second), path);
          return false;
        }
      }
      check_added(builder.add(path, entry_spec_of(t, e.node)), path);
      return !cut.count(path);
    });

  for (const std::string& dir : spec.added_dirs) {
    if (t.lookup(join(spec.root, dir)) != kNoIndex) continue;
    EntrySpec s;
    s.attrs = implied;
    check_added(builder.add(dir, std::move(s)), dir);
  }
  for (const ViewSpec::Alias& alias : spec.aliases) {
    const uint32_t target = t.lookup(join(spec.root, alias.target));
    if (target == kNoIndex || !t.nodes[target].is_regular() || in_cut(cut, alias.target))
      fail("{}: {} is not a regular file of the view", describe_, alias.target);
    EntrySpec s = entry_spec_of(t, target);
    s.payload |= kAlias;
    check_added(builder.add(alias.path, std::move(s)), alias.path);
  }
  for (const ViewSpec::Generated& g : spec.generated) {
    const uint32_t was = t.lookup(join(spec.root, g.path));
    EntrySpec s;
    s.attrs = was != kNoIndex && t.nodes[was].is_regular() ? t.nodes[was] : t.nodes[root];
    if (was == kNoIndex || !t.nodes[was].is_regular()) s.attrs.mode = S_IFREG | 0644;
    s.attrs.size = g.bytes.size();
    s.payload = kGenerated | generated_.size();
    generated_.push_back(g.bytes);
    check_added(builder.add(g.path, std::move(s)), g.path);
  }
  tree_ = builder.finish(origin_);
}

Status SourceView::read_file(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const {
  const uint64_t origin = origin_[node];
  if (!(origin & kGenerated)) return base_.read_file(uint32_t(origin & ~kAlias), offset, buf, len);
  const std::string& bytes = generated_[size_t(origin & ~kGenerated)];
  if (offset > bytes.size() || len > bytes.size() - offset) return Status::io_error;
  std::memcpy(buf, bytes.data() + offset, len);
  return Status::ok;
}

void SourceView::data_order(std::vector<uint32_t>& files) const {
  std::vector<uint32_t> base_order;
  base_.data_order(base_order);
  files.clear();
  if (base_order.empty()) return;  // the base reads best in tree order: so does the view
  std::vector<uint32_t> view_of(base_.tree().nodes.size(), kNoIndex);
  for (uint32_t n = 0; n < origin_.size(); ++n)
    if (!(origin_[n] & (kGenerated | kAlias)) && tree_.nodes[n].is_regular() && view_of[origin_[n]] == kNoIndex)
      view_of[origin_[n]] = n;
  std::vector<uint8_t> listed(tree_.nodes.size(), 0);
  for (uint32_t b : base_order)
    if (b < view_of.size() && view_of[b] != kNoIndex) {
      files.push_back(view_of[b]);
      listed[view_of[b]] = 1;
    }
  for (uint32_t n = 0; n < tree_.nodes.size(); ++n)
    if (tree_.nodes[n].is_regular() && !listed[n]) files.push_back(n);
}

}  // namespace vdiskfs
