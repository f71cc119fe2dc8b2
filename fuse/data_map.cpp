#include "fuse/data_map.h"

#include <algorithm>

namespace vdiskfs {

const std::vector<ByteRange>& DataMap::ranges() const {
  std::call_once(once_, [this] {
    std::vector<ByteRange> raw;
    image_->data_ranges(raw);
    std::sort(raw.begin(), raw.end(), [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
    // Touching or overlapping ranges become one, so that SEEK_HOLE never
    // answers a hole of no length between two of them.
    for (const ByteRange& r : raw) {
      if (r.length == 0) continue;
      ByteRange* last = ranges_.empty() ? nullptr : &ranges_.back();
      if (last && r.offset <= last->offset + last->length)
        last->length = std::max(last->offset + last->length, r.offset + r.length) - last->offset;
      else
        ranges_.push_back(r);
    }
  });
  return ranges_;
}

std::vector<ByteRange>::const_iterator DataMap::first_ending_after(uint64_t offset) const {
  const std::vector<ByteRange>& r = ranges();
  return std::upper_bound(r.begin(), r.end(), offset,
                          [](uint64_t off, const ByteRange& b) { return off < b.offset + b.length; });
}

std::optional<uint64_t> DataMap::next_data(uint64_t offset, uint64_t size) const {
  if (offset >= size) return std::nullopt;
  const auto it = first_ending_after(offset);
  if (it == ranges().end()) return std::nullopt;
  const uint64_t at = std::max(offset, it->offset);
  return at < size ? std::optional<uint64_t>(at) : std::nullopt;
}

std::optional<uint64_t> DataMap::next_hole(uint64_t offset, uint64_t size) const {
  if (offset >= size) return std::nullopt;
  const auto it = first_ending_after(offset);
  if (it == ranges().end() || it->offset > offset) return offset;
  return std::min(it->offset + it->length, size);
}

}  // namespace vdiskfs
