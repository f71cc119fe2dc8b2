#include "core/image/range_copy.h"

#include <cerrno>
#include <mutex>
#include <thread>

#include "core/image/io.h"

namespace vdiskfs {
namespace {

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

// The ranges cut into pieces of at most `piece` bytes, in order.
std::vector<ByteRange> pieces_of(const std::vector<ByteRange>& ranges, size_t piece) {
  std::vector<ByteRange> out;
  for (const ByteRange& r : ranges)
    for (uint64_t off = 0; off < r.length; off += piece)
      out.push_back({r.offset + off, std::min<uint64_t>(piece, r.length - off)});
  return out;
}

// Writes `buf` (the bytes at `offset`) to `fd`, skipping all-zero blocks of
// `zero_block` bytes (aligned to the piece); returns errno or 0.
int write_piece(int fd, const uint8_t* buf, size_t len, uint64_t offset, size_t zero_block) {
  const size_t block = zero_block ? zero_block : len;
  for (size_t at = 0; at < len; at += block) {
    const size_t n = std::min(block, len - at);
    if (zero_block && all_zero(buf + at, n)) continue;
    const IoResult w = pwrite_full(fd, buf + at, n, offset + at);
    if (!w.complete()) return w.end == IoEnd::failed ? w.error : ENOSPC;
  }
  return 0;
}

// The state the copying threads share.
struct CopyRun {
  CopyRun(const Image& image, std::vector<ByteRange> pieces, int fd, const CopyOptions& options,
          std::atomic<uint64_t>& done)
      : image(image), pieces(std::move(pieces)), fd(fd), options(options), done(done) {}

  const Image& image;
  const std::vector<ByteRange> pieces;
  int fd;
  const CopyOptions& options;
  std::atomic<uint64_t>& done;
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::optional<CopyFailure> failure;  // the first, under mutex
  std::atomic<bool> stop{false};

  void fail(const CopyFailure& f) {
    std::lock_guard hold(mutex);
    if (!failure || f.offset < failure->offset) failure = f;
    stop = true;
  }

  // One thread: takes pieces in order until none are left or one failed.
  void work() {
    std::vector<uint8_t> buf(options.piece_bytes);
    for (size_t i = next++; i < pieces.size() && !stop; i = next++) {
      const ByteRange& p = pieces[i];
      if (!ok(image.read(p.offset, buf.data(), size_t(p.length)))) return fail({p.offset, true, EIO});
      if (int err = write_piece(fd, buf.data(), size_t(p.length), p.offset, options.zero_block_bytes))
        return fail({p.offset, false, err});
      done += p.length;
    }
  }
};

}  // namespace

uint64_t ranges_bytes(const std::vector<ByteRange>& ranges) {
  uint64_t sum = 0;
  for (const ByteRange& r : ranges) sum += r.length;
  return sum;
}

std::optional<CopyFailure> copy_ranges(const Image& image, const std::vector<ByteRange>& ranges, int fd,
                                       const CopyOptions& options, std::atomic<uint64_t>& done) {
  CopyRun run(image, pieces_of(ranges, options.piece_bytes), fd, options, done);
  std::vector<std::thread> threads;
  const unsigned jobs = std::max(1u, options.jobs);
  for (unsigned i = 1; i < jobs; ++i) threads.emplace_back([&run] { run.work(); });
  run.work();
  for (std::thread& t : threads) t.join();
  return run.failure;
}

}  // namespace vdiskfs
