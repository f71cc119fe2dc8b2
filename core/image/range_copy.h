#pragma once
// Copying the data ranges of an Image to a file descriptor at the same
// offsets, with several reads in flight: what `vdiskfs export` (and later a
// restore) does instead of reading every byte of a disk. The target's
// other bytes are left alone (on a new file: holes).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/image/image.h"

namespace vdiskfs {

// Why a copy stopped.
struct CopyFailure {
  uint64_t offset = 0;   // byte offset of the piece that failed
  bool reading = false;  // true: reading the Image failed (it logged why); false: writing the target
  int error = 0;         // errno of the failed write (ENOSPC when it wrote nothing)
};

// How a copy is run.
struct CopyOptions {
  unsigned jobs = 4;              // threads, each with one piece in flight
  size_t piece_bytes = 1 << 20;   // bytes a thread reads at once
  // Blocks of this many bytes that are all zero are not written (the
  // target keeps its hole); 0 writes every byte.
  size_t zero_block_bytes = 64 * 1024;
};

// Copies the bytes of `ranges` (sorted, inside the image) from `image` to
// `fd` at the same offsets, `options.jobs` pieces at a time, front to back.
// `done` grows by the bytes of each finished piece (for progress; read it
// from another thread). Returns the first failure, after which no new piece
// starts; nullopt when every range was copied.
std::optional<CopyFailure> copy_ranges(const Image& image, const std::vector<ByteRange>& ranges, int fd,
                                       const CopyOptions& options, std::atomic<uint64_t>& done);

// The sum of the lengths of `ranges`, in bytes.
uint64_t ranges_bytes(const std::vector<ByteRange>& ranges);

}  // namespace vdiskfs
