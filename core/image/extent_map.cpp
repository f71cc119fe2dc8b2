#include "core/image/extent_map.h"

#include <algorithm>

namespace vdiskfs {

bool ExtentMap::finish(size_t* overlap) {
  std::sort(extents_.begin(), extents_.end(),
            [](const Extent& a, const Extent& b) { return a.start < b.start; });
  for (size_t i = 1; i < extents_.size(); ++i) {
    const Extent& prev = extents_[i - 1];
    if (prev.start + prev.length > extents_[i].start) {
      if (overlap) *overlap = i;
      return false;
    }
  }
  if (extents_.capacity() > extents_.size() + extents_.size() / 4) extents_.shrink_to_fit();
  return true;
}

size_t ExtentMap::first_ending_after(uint64_t offset) const {
  // First extent whose start is > offset, then step back one if the previous
  // extent still covers offset.
  auto it = std::upper_bound(extents_.begin(), extents_.end(), offset,
                             [](uint64_t off, const Extent& e) { return off < e.start; });
  if (it != extents_.begin()) {
    auto prev = it - 1;
    if (prev->start + prev->length > offset) return size_t(prev - extents_.begin());
  }
  return size_t(it - extents_.begin());
}

}  // namespace vdiskfs
