#include "core/fs/fat/fat_directory.h"

#include <algorithm>
#include <cstring>

#include "core/fs/fat/fat_format.h"
#include "core/fs/fat/fat_time.h"
#include "core/image/on_disk.h"

namespace vdiskfs::fat {
namespace {

inline constexpr uint32_t kMaxEntrySlots = 1 + (kMaxLongNameUnits + 12) / kLongNameUnitsPerEntry;

DirEntry short_entry(const ShortName& name, uint8_t attr, uint32_t cluster, uint32_t size, const EntryTimes& t) {
  DirEntry e{};
  std::memcpy(e.name, name.data(), name.size());
  e.attr = attr;
  e.create_time_tenth = t.create.centis;
  e.create_time = t.create.time;
  e.create_date = t.create.date;
  e.access_date = t.access.date;
  e.first_cluster_hi = uint16_t(cluster >> 16);
  e.write_time = t.write.time;
  e.write_date = t.write.date;
  e.first_cluster_lo = uint16_t(cluster);
  e.file_size = size;
  return e;
}

ShortName dot_name(size_t dots) {
  ShortName n;
  n.fill(' ');
  std::fill_n(n.begin(), dots, uint8_t('.'));
  return n;
}

uint8_t attributes(const Node& n) {
  uint8_t attr = n.is_dir() ? kAttrDirectory : kAttrArchive;
  if ((n.mode & 0222) == 0) attr |= kAttrReadOnly;
  return attr;
}

// The slots before a directory's names; returns how many.
uint32_t write_leading_slots(const Plan& plan, const FatDirectory& d, uint8_t* out) {
  const bool local = plan.options.local_time;
  if (d.is_root()) {
    if (!plan.has_label) return 0;
    EntryTimes t;
    t.write = t.create = t.access = to_fat_time(Timestamp::from_ns(plan.options.timestamp_ns), local);
    store(out, short_entry(plan.label, kAttrVolumeId, 0, 0, t));
    return 1;
  }
  const Node& n = plan.tree.nodes[d.node];
  const EntryTimes t = entry_times(n, local);
  const uint8_t attr = attributes(n);
  store(out, short_entry(dot_name(1), attr, d.first_cluster, 0, t));
  store(out + kDirEntryBytes, short_entry(dot_name(2), attr, d.dotdot_cluster(plan.dirs), 0, t));
  return 2;
}

// Copies the part of [at, at + n) (bytes of a directory, from `src`) that
// lies in [from, to) to `out`, which holds byte `from`.
void copy_overlap(uint64_t at, const uint8_t* src, uint64_t n, uint64_t from, uint64_t to, uint8_t* out) {
  const uint64_t lo = std::max(at, from), hi = std::min(at + n, to);
  if (lo < hi) std::memcpy(out + (lo - from), src + (lo - at), hi - lo);
}

// The long name of entry `e` in UTF-16.
std::u16string long_name(const Plan& plan, const FatEntry& e) {
  std::u16string name;
  utf8_to_utf16(plan.tree.name(plan.tree.dirents[e.dirent]), &name);  // checked when planned
  return name;
}

}  // namespace

uint32_t write_entry_slots(const Plan& plan, const FatEntry& e, const ShortName& short_name, uint8_t* out) {
  const Node& n = plan.tree.nodes[plan.tree.dirents[e.dirent].node];
  const std::u16string name = long_name(plan, e);
  const uint32_t lfn = long_name_entries(name.size());
  write_long_name(name, short_name_checksum(short_name), out);
  const uint32_t size = n.is_regular() ? uint32_t(n.size) : 0;
  store(out + lfn * kDirEntryBytes,
        short_entry(short_name, attributes(n), e.first_cluster, size, entry_times(n, plan.options.local_time)));
  return lfn + 1;
}

DirectoryRegionImage::DirectoryRegionImage(std::shared_ptr<const Plan> plan)
    : plan_(std::move(plan)),
      named_(std::make_unique<std::once_flag[]>(plan_->dirs.size())),
      short_names_(plan_->dirs.size()) {
  const FatDirectory& last = plan_->dirs.back();
  size_ = uint64_t(last.first_cluster - kRootCluster + last.clusters) * plan_->geo.cluster_bytes();
}

const std::vector<ShortName>& DirectoryRegionImage::short_names(size_t dir) const {
  std::call_once(named_[dir], [&] {
    const FatDirectory& d = plan_->dirs[dir];
    std::vector<std::u16string> names;
    names.reserve(d.entry_count);
    for (uint32_t k = 0; k < d.entry_count; ++k) names.push_back(long_name(*plan_, plan_->entries[d.entry_begin + k]));
    short_names_[dir] = assign_short_names(names);
  });
  return short_names_[dir];
}

Status DirectoryRegionImage::read(uint64_t offset, uint8_t* buf, size_t len) const {
  std::memset(buf, 0, len);
  const uint64_t cb = plan_->geo.cluster_bytes();
  const auto& dirs = plan_->dirs;
  auto start_of = [&](const FatDirectory& d) { return uint64_t(d.first_cluster - kRootCluster) * cb; };
  auto it = std::upper_bound(dirs.begin(), dirs.end(), offset, [&](uint64_t off, const FatDirectory& d) {
    return off < start_of(d) + d.clusters * cb;
  });
  for (; it != dirs.end() && start_of(*it) < offset + len; ++it) {
    const uint64_t start = start_of(*it);
    const uint64_t from = std::max(offset, start);
    const uint64_t to = std::min(offset + len, start + uint64_t(it->slots) * kDirEntryBytes);
    if (from < to) read_directory(size_t(it - dirs.begin()), from - start, to - start, buf + (from - offset));
  }
  return Status::ok;
}

void DirectoryRegionImage::read_directory(size_t dir, uint64_t from, uint64_t to, uint8_t* out) const {
  const FatDirectory& d = plan_->dirs[dir];
  uint8_t slots[kMaxEntrySlots * kDirEntryBytes];
  const uint32_t leading = write_leading_slots(*plan_, d, slots);
  copy_overlap(0, slots, leading * kDirEntryBytes, from, to, out);
  // The entries from the last one starting at or before `from`.
  const auto begin = plan_->entries.begin() + d.entry_begin, end = begin + d.entry_count;
  auto it = std::upper_bound(begin, end, from, [](uint64_t off, const FatEntry& e) {
    return off < uint64_t(e.first_slot) * kDirEntryBytes;
  });
  if (it != begin) --it;
  const std::vector<ShortName>& shorts = short_names(dir);
  for (; it != end && uint64_t(it->first_slot) * kDirEntryBytes < to; ++it) {
    const uint32_t n = write_entry_slots(*plan_, *it, shorts[size_t(it - begin)], slots);
    copy_overlap(uint64_t(it->first_slot) * kDirEntryBytes, slots, n * kDirEntryBytes, from, to, out);
  }
}

}  // namespace vdiskfs::fat
