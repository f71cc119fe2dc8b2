#include "core/image/io.h"

#include <unistd.h>

#include <cerrno>

namespace vdiskfs {

namespace {

// Loops `call(done)` (one pread or pwrite of the rest, from byte `done`)
// until `len` bytes moved, a call moves nothing, or a call fails.
template <typename Call>
IoResult transfer_all(size_t len, Call call) {
  IoResult result;
  while (result.bytes < len) {
    const ssize_t r = call(result.bytes);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return {IoEnd::failed, result.bytes, errno};
    if (r == 0) return {IoEnd::stopped, result.bytes, 0};
    result.bytes += size_t(r);
  }
  return result;
}

}  // namespace

IoResult pread_full(int fd, void* buf, size_t len, uint64_t offset) {
  auto* bytes = static_cast<uint8_t*>(buf);
  return transfer_all(len, [&](size_t done) {
    return ::pread(fd, bytes + done, len - done, off_t(offset + done));
  });
}

IoResult pwrite_full(int fd, const void* buf, size_t len, uint64_t offset) {
  const auto* bytes = static_cast<const uint8_t*>(buf);
  return transfer_all(len, [&](size_t done) {
    return ::pwrite(fd, bytes + done, len - done, off_t(offset + done));
  });
}

}  // namespace vdiskfs
