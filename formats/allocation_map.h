#pragma once
// Which units (grains, clusters, blocks) of a disk a sparse container
// format allocates: those that overlap a data range. Kept as runs, so memory
// grows with the number of runs, not with the disk size; the ordinal of a
// unit (its slot in the container's data area) is a binary search.
#include <cstdint>
#include <vector>

#include "core/image/image.h"

namespace vdiskfs {

class AllocationMap {
 public:
  struct Run {
    uint64_t first;    // first unit
    uint64_t count;
    uint64_t ordinal;  // slot of `first` among allocated units
  };
  static constexpr uint64_t kNone = ~0ull;

  AllocationMap(const std::vector<ByteRange>& data, uint64_t unit_bytes, uint64_t disk_bytes);

  uint64_t unit_bytes() const { return unit_; }
  uint64_t total_units() const { return total_; }
  uint64_t allocated() const { return allocated_; }
  const std::vector<Run>& runs() const { return runs_; }
  // Slot of `unit` among allocated units, or kNone.
  uint64_t ordinal(uint64_t unit) const;
  // Allocated units in [first, first + count).
  uint64_t allocated_in(uint64_t first, uint64_t count) const;

 private:
  uint64_t unit_, total_, allocated_ = 0;
  std::vector<Run> runs_;
};

}  // namespace vdiskfs
