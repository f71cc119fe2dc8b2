#include "core/fs/fat/fat_table.h"

#include <algorithm>
#include <cstring>

#include "core/fs/fat/fat_format.h"
#include "core/image/arith.h"

namespace vdiskfs::fat {
namespace {

// Index of the first run that ends after `cluster` (runs.size() if none).
size_t first_run_ending_after(const std::vector<ClusterRun>& runs, uint32_t cluster) {
  auto it = std::upper_bound(runs.begin(), runs.end(), cluster, [](uint32_t c, const ClusterRun& r) {
    return c < r.first + r.count;
  });
  return size_t(it - runs.begin());
}

uint32_t entry_in_run(const ClusterRun& r, uint32_t cluster) {
  return cluster + 1 < r.first + r.count ? cluster + 1 : kFatEndOfChain;
}

}  // namespace

FatTableImage::FatTableImage(std::vector<ClusterRun> runs, uint32_t fat_sectors)
    : runs_(std::move(runs)), size_(uint64_t(fat_sectors) * kSectorBytes) {}

uint32_t FatTableImage::entry(uint32_t cluster) const {
  if (cluster == 0) return kFatMediaEntry;
  if (cluster == 1) return kFatCleanEntry;
  const size_t i = first_run_ending_after(runs_, cluster);
  if (i == runs_.size() || runs_[i].first > cluster) return kFatFree;
  return entry_in_run(runs_[i], cluster);
}

Status FatTableImage::read(uint64_t offset, uint8_t* buf, size_t len) const {
  // Whole entries covering the range, then the requested bytes of them.
  const uint64_t first = offset / kFatEntryBytes;
  const uint64_t last = div_up(offset + len, kFatEntryBytes);  // exclusive
  size_t run = first_run_ending_after(runs_, uint32_t(std::min<uint64_t>(first, UINT32_MAX)));
  for (uint64_t c = first; c < last; ++c) {
    uint32_t value = kFatFree;
    if (c < 2) {
      value = entry(uint32_t(c));
    } else {
      while (run < runs_.size() && runs_[run].first + runs_[run].count <= c) ++run;
      if (run == runs_.size()) {  // free from here on
        const uint64_t from = std::max(c * kFatEntryBytes, offset);
        std::memset(buf + (from - offset), 0, offset + len - from);
        break;
      }
      if (runs_[run].first <= c) value = entry_in_run(runs_[run], uint32_t(c));
    }
    uint8_t bytes[kFatEntryBytes];
    for (uint32_t k = 0; k < kFatEntryBytes; ++k) bytes[k] = uint8_t(value >> (8 * k));
    const uint64_t entry_start = c * kFatEntryBytes;
    const uint64_t from = std::max(entry_start, offset), to = std::min(entry_start + kFatEntryBytes, offset + len);
    std::memcpy(buf + (from - offset), bytes + (from - entry_start), to - from);
  }
  return Status::ok;
}

void FatTableImage::data_ranges(std::vector<ByteRange>& out) const {
  const uint64_t end_cluster = runs_.empty() ? 2 : uint64_t(runs_.back().first) + runs_.back().count;
  out.push_back({0, std::min(size_, align_up(end_cluster * kFatEntryBytes, kSectorBytes))});
}

}  // namespace vdiskfs::fat
