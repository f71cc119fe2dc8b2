#pragma once
// A table of fixed-size entries (grain tables, L2 tables, BATs, refcount
// blocks) whose bytes are computed on each read by a fill function, so a
// container's tables cost no memory and need no pass over the disk.
#include <algorithm>
#include <cstring>
#include <functional>

#include "core/image/image.h"

namespace vdiskfs {

class TableImage final : public Image {
 public:
  // fill(first, count, out) writes entries [first, first + count) to out.
  using Fill = std::function<void(uint64_t first, uint64_t count, uint8_t* out)>;

  TableImage(uint64_t entries, uint32_t entry_bytes, Fill fill)
      : entries_(entries), entry_bytes_(entry_bytes), fill_(std::move(fill)) {}

  uint64_t size() const override { return entries_ * entry_bytes_; }

  Status read(uint64_t offset, uint8_t* buf, size_t len) const override {
    const uint64_t end = offset + len;
    const uint64_t first = offset / entry_bytes_;
    const uint64_t last = (end + entry_bytes_ - 1) / entry_bytes_;  // exclusive
    // Whole entries straight into the buffer; partial ones via a scratch entry.
    uint64_t pos = offset;
    uint64_t e = first;
    uint8_t scratch[16];
    while (e < last) {
      const uint64_t entry_start = e * entry_bytes_;
      if (entry_start < pos || entry_start + entry_bytes_ > end) {
        fill_(e, 1, scratch);
        const uint64_t from = pos - entry_start;
        const uint64_t n = std::min<uint64_t>(entry_bytes_ - from, end - pos);
        std::memcpy(buf + (pos - offset), scratch + from, n);
        pos += n;
        ++e;
        continue;
      }
      uint64_t whole = std::min(last, (end / entry_bytes_)) - e;
      whole = std::min<uint64_t>(whole, 1 << 16);  // bounded chunks
      fill_(e, whole, buf + (pos - offset));
      pos += whole * entry_bytes_;
      e += whole;
    }
    return Status::ok;
  }

 private:
  uint64_t entries_;
  uint32_t entry_bytes_;  // at most 16
  Fill fill_;
};

}  // namespace vdiskfs
