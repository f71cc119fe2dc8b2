#include "core/image/mapped_image.h"

#include <algorithm>
#include <cstring>

namespace vdiskfs {

MappedImage::MappedImage(uint64_t size, ExtentMap map, std::vector<uint8_t> skeleton,
                         const FileReader* files,
                         std::vector<std::shared_ptr<const Image>> children)
    : size_(size),
      map_(std::move(map)),
      skeleton_(std::move(skeleton)),
      files_(files),
      children_(std::move(children)) {}

Status MappedImage::read_extent(const Extent& e, uint64_t inner, uint8_t* buf,
                                size_t len) const {
  switch (e.kind) {
    case ExtentKind::skeleton:
      std::memcpy(buf, skeleton_.data() + e.arg + inner, len);
      return Status::ok;
    case ExtentKind::source:
      return files_->read_file(e.id, e.arg + inner, buf, len);
    case ExtentKind::image:
      return children_[e.id]->read(e.arg + inner, buf, len);
  }
  return Status::io_error;
}

void MappedImage::data_ranges(std::vector<ByteRange>& out) const {
  // Child ranges are asked once per child and clipped to each extent.
  std::vector<std::vector<ByteRange>> child_ranges(children_.size());
  std::vector<bool> asked(children_.size(), false);
  for (const Extent& e : map_.extents()) {
    if (e.kind != ExtentKind::image) {
      append_range(out, {e.start, e.length});
      continue;
    }
    if (!asked[e.id]) {
      children_[e.id]->data_ranges(child_ranges[e.id]);
      asked[e.id] = true;
    }
    const auto& ranges = child_ranges[e.id];
    auto it = std::upper_bound(ranges.begin(), ranges.end(), e.arg,
                               [](uint64_t off, const ByteRange& r) { return off < r.offset; });
    if (it != ranges.begin()) --it;
    for (; it != ranges.end() && it->offset < e.arg + e.length; ++it) {
      const uint64_t from = std::max(it->offset, e.arg);
      const uint64_t to = std::min(it->offset + it->length, e.arg + e.length);
      if (from < to) append_range(out, {e.start + (from - e.arg), to - from});
    }
  }
}

Status MappedImage::read(uint64_t offset, uint8_t* buf, size_t len) const {
  const auto& extents = map_.extents();
  size_t i = map_.first_ending_after(offset);
  uint64_t pos = offset;
  const uint64_t end = offset + len;
  while (pos < end) {
    if (i == extents.size() || extents[i].start >= end) {
      std::memset(buf + (pos - offset), 0, end - pos);  // trailing gap
      break;
    }
    const Extent& e = extents[i];
    if (e.start > pos) {  // gap before this extent reads as zeros
      std::memset(buf + (pos - offset), 0, e.start - pos);
      pos = e.start;
    }
    const uint64_t inner = pos - e.start;
    const uint64_t n = std::min(e.length - inner, end - pos);
    Status s = read_extent(e, inner, buf + (pos - offset), n);
    if (!ok(s)) return s;
    pos += n;
    ++i;
  }
  return Status::ok;
}

}  // namespace vdiskfs
