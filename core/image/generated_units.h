#pragma once
// Reading an Image whose bytes are generated on demand in fixed-size units
// (ext4's bitmap blocks, inodes, directory blocks): each unit is written by
// a callback, straight into the caller's buffer when the read covers it
// whole, through a scratch unit when it covers only part of it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/image/status.h"

namespace vdiskfs {

// Fills buf with [offset, offset + len) of a sequence of `kUnit`-byte units,
// unit i produced by `write_unit(i, out)` (kUnit bytes at out). Status::ok.
template <size_t kUnit, typename WriteUnit>
Status read_generated_units(uint64_t offset, uint8_t* buf, size_t len, WriteUnit write_unit) {
  alignas(8) uint8_t tmp[kUnit];
  uint64_t pos = offset;
  const uint64_t end = offset + len;
  while (pos < end) {
    const uint64_t index = pos / kUnit, inner = pos % kUnit;
    const uint64_t n = std::min<uint64_t>(kUnit - inner, end - pos);
    uint8_t* out = buf + (pos - offset);
    if (inner == 0 && n == kUnit) {
      write_unit(index, out);
    } else {
      write_unit(index, tmp);
      std::memcpy(out, tmp + inner, n);
    }
    pos += n;
  }
  return Status::ok;
}

}  // namespace vdiskfs
