#include "core/fs/fat/fat_plan.h"

#include <fmt/core.h>

#include <deque>
#include <unordered_map>

#include "core/fs/fat/fat_time.h"
#include "core/image/arith.h"

namespace vdiskfs::fat {
namespace {

// A directory of the tree waiting to be scanned: kept on the volume (with
// its index in Plan::dirs), or only checked so that everything FAT cannot
// hold beneath a left-out directory is listed too.
struct PendingDir {
  uint32_t node;
  bool keep;
  uint32_t index;  // in Plan::dirs, when kept
};

// Why FAT cannot hold the node `node` whatever its name ("" when it can).
std::string node_problem(const Node& n) {
  if (n.is_symlink()) return "a symbolic link; FAT has none";
  if (S_ISCHR(n.mode) || S_ISBLK(n.mode)) return "a device; FAT has none";
  if (S_ISFIFO(n.mode)) return "a fifo; FAT has none";
  if (S_ISSOCK(n.mode)) return "a socket; FAT has none";
  if (n.is_regular() && n.size > kMaxFileSize)
    return fmt::format("a file of {} bytes; FAT holds files under 4 GiB ({} bytes at most)", n.size, kMaxFileSize);
  if (!n.is_regular() && !n.is_dir()) return "a file type FAT has not";
  return "";
}

uint32_t dir_clusters(uint32_t slots, uint32_t cluster_bytes) {
  return uint32_t(std::max<uint64_t>(1, div_up(uint64_t(slots) * kDirEntryBytes, cluster_bytes)));
}

uint32_t file_clusters(const Node& n, uint32_t cluster_bytes) {
  return n.is_regular() ? uint32_t(div_up(n.size, cluster_bytes)) : 0;
}

// One directory's names: what FAT cannot hold goes to plan.unsupported;
// when the directory is kept, the rest become its entries and its
// subdirectories join the plan and the queue.
class DirectoryScan {
 public:
  DirectoryScan(Plan& plan, const PendingDir& dir, std::deque<PendingDir>& queue)
      : plan_(plan), dir_(dir), queue_(queue) {}

  void run() {
    const Tree& t = plan_.tree;
    const Node& d = t.nodes[dir_.node];
    slots_ = dir_.keep ? plan_.dirs[dir_.index].leading_slots(plan_.has_label) : 2;
    if (dir_.keep) plan_.dirs[dir_.index].entry_begin = uint32_t(plan_.entries.size());
    seen_.reserve(t.child_count(d));
    for (uint32_t i = t.child_begin(d); i < t.child_begin(d) + t.child_count(d); ++i) add(i);
    if (!dir_.keep) return;
    FatDirectory& fd = plan_.dirs[dir_.index];
    fd.entry_count = uint32_t(plan_.entries.size()) - fd.entry_begin;
    fd.slots = slots_;
  }

 private:
  // Why FAT cannot hold the name `dirent` here ("" when it can); *units
  // is its length in UTF-16 units.
  std::string problem(uint32_t dirent, size_t* units) {
    const Dirent& de = plan_.tree.dirents[dirent];
    std::string why = node_problem(plan_.tree.nodes[de.node]);
    std::u16string name;
    if (why.empty()) why = long_name_problem(plan_.tree.name(de), &name);
    if (!why.empty()) return why;
    *units = name.size();
    const auto [it, fresh] = seen_.emplace(fold_case(std::move(name)), dirent);
    if (!fresh)
      return fmt::format("the same name as '{}' when case is ignored, as FAT compares names",
                         plan_.tree.name(plan_.tree.dirents[it->second]));
    if (uint64_t(slots_) + 1 + long_name_entries(*units) > kMaxDirEntries)
      return fmt::format("its directory would need more than {} entries, FAT's limit", kMaxDirEntries);
    return "";
  }

  void add(uint32_t dirent) {
    const Dirent& de = plan_.tree.dirents[dirent];
    size_t units = 0;
    const std::string why = problem(dirent, &units);
    if (!why.empty()) plan_.unsupported.push_back(entry_path(plan_.tree, dirent) + ": " + why);
    const bool keep = dir_.keep && why.empty();
    if (plan_.tree.nodes[de.node].is_dir()) queue_.push_back({de.node, keep, keep ? add_directory(de.node) : 0});
    if (!keep) return;
    plan_.entries.push_back({dirent, 0, slots_});
    if (plan_.tree.nodes[de.node].is_dir()) plan_.dirs.back().entry = uint32_t(plan_.entries.size() - 1);
    slots_ += 1 + long_name_entries(units);
  }

  uint32_t add_directory(uint32_t node) {
    FatDirectory fd;
    fd.node = node;
    fd.parent = dir_.index;
    plan_.dirs.push_back(fd);
    return uint32_t(plan_.dirs.size() - 1);
  }

  Plan& plan_;
  const PendingDir& dir_;
  std::deque<PendingDir>& queue_;
  uint32_t slots_ = 0;
  std::unordered_map<std::u16string, uint32_t> seen_;  // upper-cased name -> dirent
};

// Breadth first from the root: plan.dirs, plan.entries, plan.unsupported.
void select_entries(Plan& plan) {
  plan.dirs.push_back(FatDirectory{});  // the root: node 0
  plan.entries.reserve(plan.tree.dirents.size());
  std::deque<PendingDir> queue{{0, true, 0}};
  while (!queue.empty()) {
    const PendingDir dir = queue.front();
    queue.pop_front();
    DirectoryScan(plan, dir, queue).run();
  }
}

uint64_t used_clusters(const Plan& plan, uint32_t cluster_bytes) {
  uint64_t n = 0;
  for (const FatDirectory& d : plan.dirs) n += dir_clusters(d.slots, cluster_bytes);
  for (const FatEntry& e : plan.entries)
    n += file_clusters(plan.tree.nodes[plan.tree.dirents[e.dirent].node], cluster_bytes);
  return n;
}

// Clusters from 2 on: the directories, then the files, each a run.
void place(Plan& plan) {
  const uint32_t cb = plan.geo.cluster_bytes();
  uint32_t next = kRootCluster;
  for (FatDirectory& d : plan.dirs) {
    d.first_cluster = next;
    d.clusters = dir_clusters(d.slots, cb);
    if (d.entry != kNoIndex) plan.entries[d.entry].first_cluster = next;
    plan.runs.push_back({next, d.clusters});
    next += d.clusters;
  }
  for (FatEntry& e : plan.entries) {
    const Node& n = plan.tree.nodes[plan.tree.dirents[e.dirent].node];
    const uint32_t count = file_clusters(n, cb);
    if (!n.is_regular()) continue;
    ++plan.files;
    if (count == 0) continue;
    e.first_cluster = next;
    plan.runs.push_back({next, count});
    next += count;
  }
  plan.used_clusters = next - kRootCluster;
}

void note_clamped(Plan& plan, uint32_t dirent, const char* what, Timestamp t, const FatTime& f) {
  if (!f.clamped) return;
  const bool local = plan.options.local_time;
  plan.clamped_times.push_back(fmt::format("{}: {} {} {} lies outside FAT's 1980..2107; stored as {}",
                                           entry_path(plan.tree, dirent), what, format_time(t, local),
                                           local ? "local time" : "UTC", format_fat_time(f)));
}

// Whether a time of `n` may lie outside FAT's years (an unknown btime
// stands for the mtime).
bool may_clamp(const Node& n) {
  const bool btime_in = n.btime.is_zero() || surely_in_fat_years(n.btime);
  return !surely_in_fat_years(n.mtime) || !btime_in || !surely_in_fat_years(n.atime);
}

void record_clamped_times(Plan& plan) {
  for (const FatEntry& e : plan.entries) {
    const Node& n = plan.tree.nodes[plan.tree.dirents[e.dirent].node];
    if (!may_clamp(n)) continue;
    const EntryTimes t = entry_times(n, plan.options.local_time);
    note_clamped(plan, e.dirent, "mtime", n.mtime, t.write);
    note_clamped(plan, e.dirent, n.btime.is_zero() ? "mtime (as creation time)" : "btime",
                 n.btime.is_zero() ? n.mtime : n.btime, t.create);
    note_clamped(plan, e.dirent, "atime", n.atime, t.access);
  }
}

}  // namespace

std::string entry_path(const Tree& tree, uint32_t dirent) {
  const Dirent& d = tree.dirents[dirent];
  const std::string parent = tree.relative_path(d.parent);
  return parent.empty() ? std::string(tree.name(d)) : parent + "/" + std::string(tree.name(d));
}

void plan_volume(Plan& plan) {
  plan.label = make_volume_label(plan.options.label);
  plan.has_label = !plan.options.label.empty();
  select_entries(plan);
  plan.geo = choose_geometry([&](uint32_t cb) { return used_clusters(plan, cb); }, plan.options);
  place(plan);
  record_clamped_times(plan);
}

}  // namespace vdiskfs::fat
