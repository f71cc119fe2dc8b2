#pragma once
// Where an exposed file holds data and where it is a hole (reads as zeros),
// for lseek's SEEK_DATA and SEEK_HOLE: readers that skip holes (cp
// --sparse, qemu-img convert and compare through file-posix, nbdcopy) then
// never read a disk's free space. Answers come from Image::data_ranges,
// computed at the first question (a mount that nobody asks pays nothing).
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/image/image.h"

namespace vdiskfs {

class DataMap {
 public:
  // `image`: the base Image whose data ranges are asked for.
  explicit DataMap(std::shared_ptr<const Image> image) : image_(std::move(image)) {}

  // SEEK_DATA: the first byte offset at or after `offset` that lies in a
  // data range, of a file of `size` bytes; nullopt (ENXIO) when no data
  // follows or `offset` >= `size`.
  std::optional<uint64_t> next_data(uint64_t offset, uint64_t size) const;
  // SEEK_HOLE: the first byte offset at or after `offset` that lies in a
  // hole; the end of the file counts as one. nullopt (ENXIO) when `offset`
  // >= `size`.
  std::optional<uint64_t> next_hole(uint64_t offset, uint64_t size) const;

 private:
  // The data ranges, sorted, computed once.
  const std::vector<ByteRange>& ranges() const;
  // The first range that ends after `offset`, or ranges().end().
  std::vector<ByteRange>::const_iterator first_ending_after(uint64_t offset) const;

  std::shared_ptr<const Image> image_;
  mutable std::once_flag once_;
  mutable std::vector<ByteRange> ranges_;
};

}  // namespace vdiskfs
