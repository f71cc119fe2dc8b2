#include "core/fs/ext4/ext4_fit.h"

#include <fmt/core.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <ctime>

#include "core/image/arith.h"
#include "core/image/error.h"
#include "core/image/log.h"
#include "core/fs/ext4/ext4_format_dirent.h"
#include "core/fs/ext4/ext4_xattr.h"

namespace vdiskfs::ext4 {
namespace {

// The path of the name `d` (which need not be its node's first name).
std::string dirent_path(const Tree& tree, const Dirent& d) {
  const std::string parent = tree.relative_path(d.parent);
  return parent.empty() ? std::string(tree.name(d)) : parent + "/" + std::string(tree.name(d));
}

// e2fsck (before 2242) takes a time whose base field has bit 31 set and
// whose epoch bits are 3 for a mis-encoded pre-1970 time: the seconds
// [2^33 + 2^31, 3 * 2^32), 2310-04-04 .. 2378-04-22.
constexpr int64_t kFsckBadFirst = (int64_t(1) << 33) + (int64_t(1) << 31);
constexpr int64_t kFsckBadEnd = int64_t(3) << 32;

// The device numbers ext4's new encoding (Linux's dev_t) holds.
constexpr uint32_t kMaxMajor = (1u << 12) - 1, kMaxMinor = (1u << 20) - 1;

// "2350-01-01 00:00:00.5 UTC".
std::string format_time(Timestamp t) {
  const time_t sec = time_t(t.sec);
  struct tm tm {};
  gmtime_r(&sec, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (t.nsec) out += fmt::format(".{:09}", t.nsec);
  return out + " UTC";
}

// Decides what stays (names, nodes) and what is split, then builds the
// fitted tree. Directories are walked from the root, so a directory left
// out takes everything below it along.
class Fitter {
 public:
  Fitter(const Tree& tree, const Limits& limits, std::vector<FitNote>& notes)
      : tree_(tree), limits_(limits), notes_(notes) {}

  // True when the tree needs a change (notes on xattrs left out need none:
  // the xattr writers skip them).
  bool decide() {
    const size_t notes_before = notes_.size();
    check_nodes();
    names_.assign(tree_.nodes.size(), 0);
    kept_.assign(tree_.dirents.size(), 0);
    names_[0] = 1;
    std::vector<uint32_t> dirs{0};
    while (!dirs.empty()) {
      const uint32_t dir = dirs.back();
      dirs.pop_back();
      keep_children(dir, dirs);
    }
    for (uint32_t n = 0; n < tree_.nodes.size(); ++n) {
      if (tree_.nodes[n].is_dir() || names_[n] <= limits_.max_links) continue;
      const uint32_t inodes = uint32_t(div_up(names_[n], limits_.max_links));
      notes_.push_back({tree_.relative_path(n),
                        fmt::format("{} hard links, more than ext4's {} per inode", names_[n], limits_.max_links),
                        fmt::format("its names are split over {} inodes of at most {} names each, whose data "
                                    "reads the same source bytes (nothing is copied)",
                                    inodes, limits_.max_links)});
    }
    const bool retimed = check_times();
    const bool changed = notes_.size() != notes_before || retimed;
    check_xattrs();
    return changed;
  }

  std::unique_ptr<FittedTree> build(const std::vector<uint32_t>& data_order) {
    auto out = std::make_unique<FittedTree>();
    number_nodes(*out);
    Tree& t = out->tree;
    t.strings = tree_.strings;
    t.segments = tree_.segments;
    std::vector<uint32_t> placed(tree_.nodes.size(), 0);  // names given out per source node
    for (uint32_t dir = 0; dir < tree_.nodes.size(); ++dir) {
      if (!tree_.nodes[dir].is_dir() || !names_[dir]) continue;
      Node& fitted_dir = t.nodes[new_of_[dir]];
      const uint32_t begin = uint32_t(t.dirents.size());
      for (uint32_t i = 0; i < tree_.child_count(tree_.nodes[dir]); ++i) {
        const uint32_t index = tree_.child_begin(tree_.nodes[dir]) + i;
        if (!kept_[index]) continue;
        const Dirent& d = tree_.dirents[index];
        const uint32_t group = placed[d.node]++ / limits_.max_links;
        const uint32_t node = group == 0 ? new_of_[d.node] : clone_base_[d.node] + group - 1;
        if (t.nodes[node].first_link == kNoIndex) t.nodes[node].first_link = uint32_t(t.dirents.size());
        if (t.nodes[node].is_dir()) ++fitted_dir.nlink;  // the child's ".."
        t.dirents.push_back({new_of_[dir], node, d.name_off, d.name_len});
      }
      fitted_dir.aux = uint64_t(begin) | uint64_t(t.dirents.size() - begin) << 32;
    }
    out->split_inodes = uint32_t(t.nodes.size()) - kept_nodes_;
    copy_xattrs(t, out->source_node);
    order_data(data_order, out->data_order);
    return out;
  }

 private:
  // Nodes ext4 cannot hold whatever their names: too long a symlink
  // target, too large a file.
  void check_nodes() {
    bad_.assign(tree_.nodes.size(), 0);
    for (uint32_t n = 1; n < tree_.nodes.size(); ++n) {
      const Node& node = tree_.nodes[n];
      std::string problem;
      if (node.is_symlink() && node.size > limits_.max_symlink)
        problem = fmt::format("a symlink target of {} bytes, more than ext4's {}", node.size, limits_.max_symlink);
      else if (node.is_regular() && node.size > limits_.max_file_size)
        problem = fmt::format("a file of {} bytes, more than ext4's {} (16 TiB - 4 KiB)", node.size,
                              limits_.max_file_size);
      else if ((S_ISCHR(node.mode) || S_ISBLK(node.mode)) &&
               (major(node.aux) > kMaxMajor || minor(node.aux) > kMaxMinor))
        problem = fmt::format("a device number {}:{}, beyond ext4's (Linux's) {}:{}", major(node.aux),
                              minor(node.aux), kMaxMajor, kMaxMinor);
      if (problem.empty()) continue;
      bad_[n] = 1;
      notes_.push_back({tree_.relative_path(n), problem,
                        node.nlink > 1 ? fmt::format("left out, with its {} names", node.nlink) : "left out"});
    }
  }

  // Kept entries with a time e2fsck would take for a pre-1970 one: a note
  // each naming the times and what is stored. True if there is one.
  bool check_times() {
    bool any = false;
    for (uint32_t n = 0; n < tree_.nodes.size(); ++n) {
      if (!names_[n]) continue;
      const Node& node = tree_.nodes[n];
      std::string which;
      auto check = [&](const char* name, Timestamp t) {
        const Timestamp safe = fsck_safe_time(t);
        if (safe == t) return;
        which += fmt::format("{}{} {} as {}", which.empty() ? "" : ", ", name, format_time(t),
                             format_time(safe));
      };
      check("atime", node.atime);
      check("mtime", node.mtime);
      check("ctime", node.ctime);
      if (!node.btime.is_zero()) check("crtime", node.btime);
      if (which.empty()) continue;
      any = true;
      notes_.push_back({n == 0 ? std::string(".") : tree_.relative_path(n),
                        "a time in 2310-04-04 16:10:40 .. 2378-04-22 19:24:48 UTC, which ext4 encodes as the kernel "
                        "does but e2fsck (before 2242) takes for a mis-encoded pre-1970 time and would change",
                        "stored as the nearest time e2fsck accepts: " + which});
    }
    return any;
  }

  // Kept entries with xattrs ext4 cannot hold: a note each naming them.
  void check_xattrs() {
    for (size_t i = 0; i < tree_.xattrs.size();) {
      const uint32_t n = tree_.xattrs[i].node;
      while (i < tree_.xattrs.size() && tree_.xattrs[i].node == n) ++i;
      if (!names_[n]) continue;
      const XattrFit fit = fit_xattrs(tree_, n);
      if (fit.misfits.empty()) continue;
      std::string list;
      for (const std::string& m : fit.misfits) list += (list.empty() ? "" : ", ") + m;
      notes_.push_back({tree_.relative_path(n),
                        fmt::format("{} of its extended attributes: {}", fit.misfits.size(), list),
                        "those are left out, the entry kept"});
    }
  }

  // How many children of `dir` fit its blocks, packed as the directory
  // generator packs them (".", "..", lost+found counted for the root).
  uint32_t children_that_fit(uint32_t dir) const {
    uint64_t blocks = 1, used = 0;
    auto fits = [&](size_t name_len) {
      const uint32_t size = dirent_size(uint32_t(name_len));
      if (used + size > kBlockSize) ++blocks, used = 0;
      used += size;
      return blocks <= limits_.max_dir_blocks;
    };
    fits(1), fits(2);
    if (dir == 0) fits(10);
    const Node& node = tree_.nodes[dir];
    for (uint32_t i = 0; i < tree_.child_count(node); ++i)
      if (!fits(tree_.dirents[tree_.child_begin(node) + i].name_len)) return i;
    return tree_.child_count(node);
  }

  void keep_children(uint32_t dir, std::vector<uint32_t>& dirs) {
    const Node& node = tree_.nodes[dir];
    const uint32_t count = tree_.child_count(node);
    const uint32_t fit = children_that_fit(dir);
    if (fit < count) {
      const Dirent& first = tree_.dirents[tree_.child_begin(node) + fit];
      notes_.push_back({tree_.relative_path(dir),
                        fmt::format("a directory of {} entries, more than ext4 holds in 4 GiB without large_dir",
                                    count),
                        fmt::format("its last {} entries (from '{}' on) are left out", count - fit,
                                    tree_.name(first))});
    }
    for (uint32_t i = 0; i < fit; ++i) {
      const uint32_t index = tree_.child_begin(node) + i;
      const Dirent& d = tree_.dirents[index];
      const bool is_dir = tree_.nodes[d.node].is_dir();
      if (d.name_len > limits_.max_name) {
        notes_.push_back({dirent_path(tree_, d),
                          fmt::format("a name of {} bytes, more than ext4's {}", d.name_len, limits_.max_name),
                          is_dir ? "left out, with everything below it" : "left out"});
        continue;
      }
      if (bad_[d.node]) continue;
      kept_[index] = 1;
      ++names_[d.node];
      if (is_dir) dirs.push_back(d.node);
    }
  }

  // Fitted node numbers: kept nodes in their order, then the split
  // inodes of each file in its order.
  void number_nodes(FittedTree& out) {
    new_of_.assign(tree_.nodes.size(), kNoIndex);
    clone_base_.assign(tree_.nodes.size(), kNoIndex);
    uint32_t next = 0;
    for (uint32_t n = 0; n < tree_.nodes.size(); ++n)
      if (names_[n]) new_of_[n] = next++;
    kept_nodes_ = next;
    for (uint32_t n = 0; n < tree_.nodes.size(); ++n) {
      if (tree_.nodes[n].is_dir() || names_[n] <= limits_.max_links) continue;
      clone_base_[n] = next;
      next += uint32_t(div_up(names_[n], limits_.max_links)) - 1;
    }
    out.tree.nodes.resize(next);
    out.source_node.resize(next);
    for (uint32_t n = 0; n < tree_.nodes.size(); ++n) {
      if (!names_[n]) continue;
      for (uint32_t g = 0; g < inodes_of(n); ++g) {
        const uint32_t at = g == 0 ? new_of_[n] : clone_base_[n] + g - 1;
        Node node = tree_.nodes[n];
        node.first_link = kNoIndex;
        for (Timestamp* t : {&node.atime, &node.mtime, &node.ctime, &node.btime}) *t = fsck_safe_time(*t);
        node.nlink = node.is_dir() ? 2 : std::min(limits_.max_links, names_[n] - g * limits_.max_links);
        out.tree.nodes[at] = node;
        out.source_node[at] = n;
      }
    }
  }

  uint32_t inodes_of(uint32_t n) const {
    return tree_.nodes[n].is_dir() ? 1 : uint32_t(div_up(names_[n], limits_.max_links));
  }

  // Extended attributes of kept nodes, then of split inodes (sorted by node).
  void copy_xattrs(Tree& t, const std::vector<uint32_t>& source_node) const {
    for (const Xattr& x : tree_.xattrs)
      if (new_of_[x.node] != kNoIndex) t.xattrs.push_back({new_of_[x.node], x.name_off, x.name_len, x.value_off, x.value_len});
    if (tree_.xattrs.empty()) return;
    for (uint32_t node = 0; node < t.nodes.size(); ++node) {
      const uint32_t from = source_node[node];
      if (new_of_[from] == node) continue;  // not a split inode
      const auto [first, last] = tree_.xattrs_of(from);
      for (const Xattr* x = first; x != last; ++x)
        t.xattrs.push_back({node, x->name_off, x->name_len, x->value_off, x->value_len});
    }
  }

  void order_data(const std::vector<uint32_t>& data_order, std::vector<uint32_t>& out) const {
    auto add = [&](uint32_t n) {
      if (!tree_.nodes[n].is_regular() || !names_[n]) return;
      out.push_back(new_of_[n]);
      for (uint32_t g = 1; g < inodes_of(n); ++g) out.push_back(clone_base_[n] + g - 1);
    };
    if (data_order.empty()) {
      for (uint32_t n = 0; n < tree_.nodes.size(); ++n) add(n);
    } else {
      for (uint32_t n : data_order) add(n);
    }
  }

  const Tree& tree_;
  const Limits& limits_;
  std::vector<FitNote>& notes_;
  std::vector<uint8_t> bad_;         // per source node: ext4 cannot hold it
  std::vector<uint8_t> kept_;        // per source dirent
  std::vector<uint32_t> names_;      // per source node: kept names (directories: 0 or 1)
  std::vector<uint32_t> new_of_;     // per source node: its fitted node
  std::vector<uint32_t> clone_base_; // per split source node: its first extra fitted node
  uint32_t kept_nodes_ = 0;          // fitted nodes that are not split inodes
};

}  // namespace

Timestamp fsck_safe_time(Timestamp t) {
  if (t.sec < kFsckBadFirst || t.sec >= kFsckBadEnd) return t;
  if (t.sec - kFsckBadFirst < kFsckBadEnd - t.sec) return {kFsckBadFirst - 1, 999999999};
  return {kFsckBadEnd, 0};
}

std::unique_ptr<FittedTree> fit_tree(const Tree& tree, const Limits& limits,
                                     const std::vector<uint32_t>& data_order, std::vector<FitNote>& notes) {
  Fitter fitter(tree, limits, notes);
  if (!fitter.decide()) return nullptr;
  return fitter.build(data_order);
}

void report_fit(const std::vector<FitNote>& notes, bool strict) {
  if (notes.empty()) return;
  const FitNote& first = notes.front();
  if (strict) fail("ext4 cannot hold {}: {} (without --strict: {})", first.path, first.problem, first.action);
  log_warning("{} entr{} of the source exceed{} ext4's limits (use --strict to fail instead):", notes.size(),
              notes.size() == 1 ? "y" : "ies", notes.size() == 1 ? "s" : "");
  for (const FitNote& n : notes) log_warning("  {}: {}; {}", n.path, n.problem, n.action);
}

}  // namespace vdiskfs::ext4
