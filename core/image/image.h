#pragma once
// The one interface every layer offers: a size, and a read into the
// caller's buffer. Source files, volumes, disks and container formats all
// present themselves as an Image to the layer above.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/image/status.h"

namespace vdiskfs {

// A byte range of an Image.
struct ByteRange {
  uint64_t offset;
  uint64_t length;
};

class Image {
 public:
  virtual ~Image() = default;
  // Size in bytes. Fixed for the life of the object, except for an image
  // with a write side (a delta overlay), which a truncate may resize.
  virtual uint64_t size() const = 0;
  // Fills buf with the bytes at [offset, offset + len). The caller keeps the
  // range inside size(). Must be safe to call from many threads at once.
  virtual Status read(uint64_t offset, uint8_t* buf, size_t len) const = 0;
  // Reads up to `len` bytes at `offset`, stopping at the end of the image,
  // and stores in *done how many it read (0 at or past the end). An image
  // whose size changes (a delta overlay) takes its size and its bytes at
  // one moment, so a read racing a truncate is short, never zeros.
  virtual Status read_upto(uint64_t offset, uint8_t* buf, size_t len, size_t* done) const {
    const uint64_t end = size();
    *done = offset < end ? size_t(std::min<uint64_t>(len, end - offset)) : 0;
    return *done ? read(offset, buf, *done) : Status::ok;
  }
  // Appends, in increasing order, ranges outside of which every byte is
  // zero. Sparse container formats allocate only these. The default says
  // "all of it".
  virtual void data_ranges(std::vector<ByteRange>& out) const { out.push_back({0, size()}); }
};

// Appends `r` to `out`, merging it with the last range when the gap between
// them is under 64 KiB: ranges may hold some zeros, and no container
// allocates in smaller units, so a million small files stay a few ranges.
inline constexpr uint64_t kRangeMergeGap = 64 * 1024;
inline void append_range(std::vector<ByteRange>& out, ByteRange r) {
  if (r.length == 0) return;
  if (!out.empty() && out.back().offset + out.back().length + kRangeMergeGap > r.offset) {
    const uint64_t end = r.offset + r.length;
    if (end > out.back().offset + out.back().length) out.back().length = end - out.back().offset;
  } else {
    out.push_back(r);
  }
}

}  // namespace vdiskfs
