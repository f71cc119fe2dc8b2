#pragma once
// Complete positioned transfers: pread/pwrite loops that retry on EINTR and
// go on after short transfers until every byte has moved, the file ends, or a
// call fails. The result carries the errno; nothing is read from errno after.
#include <cstddef>
#include <cstdint>

namespace vdiskfs {

// Why a complete transfer stopped.
enum class IoEnd : uint8_t {
  complete,  // all `len` bytes moved
  stopped,   // a call moved 0 bytes: pread reached the end of the file;
             // pwrite could not write (the caller decides, e.g. as ENOSPC)
  failed,    // a call failed with `error` (never EINTR: that is retried)
};

// Outcome of pread_full/pwrite_full.
struct IoResult {
  IoEnd end = IoEnd::complete;
  size_t bytes = 0;  // bytes moved before the stop; the stop is at offset + bytes
  int error = 0;     // errno of the failing call when end == IoEnd::failed, else 0

  // True when every requested byte moved.
  bool complete() const { return end == IoEnd::complete; }
};

// Reads `len` bytes at byte `offset` of `fd` into `buf`, looping over short
// reads and EINTR. Stops early at the end of the file (IoEnd::stopped) or on
// an error (IoEnd::failed, with its errno).
IoResult pread_full(int fd, void* buf, size_t len, uint64_t offset);

// Writes `len` bytes from `buf` at byte `offset` of `fd`, looping over short
// writes and EINTR. Stops early when a call writes nothing (IoEnd::stopped)
// or fails (IoEnd::failed, with its errno, e.g. ENOSPC).
IoResult pwrite_full(int fd, const void* buf, size_t len, uint64_t offset);

}  // namespace vdiskfs
