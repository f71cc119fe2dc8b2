#pragma once
// What an extent that reads file data goes through: the image layer knows
// files only as ids and byte ranges; the source layer implements this.
#include <cstddef>
#include <cstdint>

#include "core/image/status.h"

namespace vdiskfs {

class FileReader {
 public:
  virtual ~FileReader() = default;
  // Reads [offset, offset + len) bytes of the file `id` (a tree node of the
  // source) into buf. Safe from many threads. Errors: Status::io_error,
  // Status::source_changed (logged by the implementation).
  virtual Status read_file(uint32_t id, uint64_t offset, uint8_t* buf, size_t len) const = 0;
};

}  // namespace vdiskfs
