#include "formats/allocation_map.h"

#include <algorithm>

namespace vdiskfs {

AllocationMap::AllocationMap(const std::vector<ByteRange>& data, uint64_t unit_bytes,
                             uint64_t disk_bytes)
    : unit_(unit_bytes), total_((disk_bytes + unit_bytes - 1) / unit_bytes) {
  for (const ByteRange& r : data) {
    if (r.length == 0) continue;
    const uint64_t first = r.offset / unit_;
    const uint64_t end = std::min(total_, (r.offset + r.length + unit_ - 1) / unit_);
    if (!runs_.empty() && runs_.back().first + runs_.back().count >= first) {
      const uint64_t run_end = std::max(runs_.back().first + runs_.back().count, end);
      allocated_ += run_end - (runs_.back().first + runs_.back().count);
      runs_.back().count = run_end - runs_.back().first;
    } else if (end > first) {
      runs_.push_back({first, end - first, allocated_});
      allocated_ += end - first;
    }
  }
}

uint64_t AllocationMap::ordinal(uint64_t unit) const {
  auto it = std::upper_bound(runs_.begin(), runs_.end(), unit,
                             [](uint64_t u, const Run& r) { return u < r.first; });
  if (it == runs_.begin()) return kNone;
  --it;
  if (unit >= it->first + it->count) return kNone;
  return it->ordinal + (unit - it->first);
}

uint64_t AllocationMap::allocated_in(uint64_t first, uint64_t count) const {
  uint64_t n = 0;
  auto it = std::upper_bound(runs_.begin(), runs_.end(), first,
                             [](uint64_t u, const Run& r) { return u < r.first; });
  if (it != runs_.begin()) --it;
  for (; it != runs_.end() && it->first < first + count; ++it) {
    const uint64_t a = std::max(it->first, first);
    const uint64_t b = std::min(it->first + it->count, first + count);
    if (a < b) n += b - a;
  }
  return n;
}

}  // namespace vdiskfs
