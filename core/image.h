#pragma once
// The one interface every layer offers: a size, and a read into the
// caller's buffer. Source files, volumes, disks and container formats all
// present themselves as an Image to the layer above.
#include <cstddef>
#include <cstdint>

#include "core/status.h"

namespace vdiskfs {

class Image {
 public:
  virtual ~Image() = default;
  // Size in bytes; fixed for the life of the object.
  virtual uint64_t size() const = 0;
  // Fills buf with the bytes at [offset, offset + len). The caller keeps the
  // range inside size(). Must be safe to call from many threads at once.
  virtual Status read(uint64_t offset, uint8_t* buf, size_t len) const = 0;
};

}  // namespace vdiskfs
