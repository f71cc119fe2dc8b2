#include "core/source/compressed/zstd_codec.h"

#include <fmt/core.h>
#include <zstd.h>

#include <cstring>

namespace vdiskfs {
namespace {

// A decoder of a zstd file from a frame start (RestartPoint::state is
// always empty). libzstd's streaming decoder consumes input up to the end of
// a frame and no further when it reports the frame done (returns 0), checks
// each frame's content checksum when it has one, and skips skippable frames.
class ZstdDecoder : public StreamDecoder {
 public:
  ZstdDecoder(const ArchiveFile& in, const RestartPoint& from)
      : input_(in, "zstd", from.in_offset), out_(from.out_offset), dctx_(ZSTD_createDCtx()) {
    if (!dctx_) throw input_.failed(from.in_offset, "libzstd cannot start (out of memory)");
    // Frames of archives made with --long=31 need windows up to 2 GiB.
    ZSTD_DCtx_setParameter(dctx_, ZSTD_d_windowLogMax, 31);
  }
  ~ZstdDecoder() override { ZSTD_freeDCtx(dctx_); }

  size_t read(uint8_t* buf, size_t len) override {
    ZSTD_outBuffer out{buf, len, 0};
    pending_.decode(boundary_, [&] { decompress_some(out); }, [&] { return out.pos; });
    out_ += out.pos;
    return out.pos;
  }

  uint64_t out_offset() const override { return out_; }
  uint64_t in_offset() const override { return input_.offset(); }

  std::optional<RestartPoint> restart_point() const override {
    if (!boundary_) return std::nullopt;
    return RestartPoint{out_, input_.offset(), {}};
  }

  std::string unchecked() const override {
    if (!unchecked_frames_) return {};
    return fmt::format("{} of its zstd frames carry no content checksum (made with --no-check): damage in them "
                       "cannot be detected; re-compress with checksums (zstd's default, pzstd -p 4)",
                       unchecked_frames_);
  }

 private:
  // Counts a frame starting at `p` (`n` bytes at hand) whose header says it
  // has no content checksum (RFC 8878 section 3.1.1.1.1: bit 2 of the
  // frame header descriptor after the 4-byte magic 0xFD2FB528).
  void note_frame(const uint8_t* p, size_t n) {
    if (n >= 5 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd && !(p[4] & 0x04)) ++unchecked_frames_;
  }

  // Decompresses into `out` until it is full, the stream ends, or a frame
  // ends (a restart point).
  void decompress_some(ZSTD_outBuffer& out) {
    while (!done_ && out.pos < out.size) {
      auto [p, n] = input_.peek();
      if (n == 0) {
        if (in_frame_) throw input_.truncated(input_.offset(), "the stream ends inside a frame (the file is truncated)");
        done_ = true;
        break;
      }
      if (!in_frame_) {
        note_frame(p, n);
        frame_out_ = out_ + out.pos;
      }
      ZSTD_inBuffer in{p, n, 0};
      const size_t ret = ZSTD_decompressStream(dctx_, &out, &in);
      input_.consume(in.pos);
      const uint64_t at = input_.offset();  // where libzstd stopped reading
      // The frames before passed their checks; the current one's checksum
      // covers it from its start (frame_out_).
      if (ZSTD_isError(ret))
        throw input_.corrupt(at, ZSTD_getErrorName(ret), Suspect::since_unit, frame_out_);
      in_frame_ = ret != 0;
      // A frame ends here, fully flushed: the next frame is a restart point.
      if (ret == 0 && out.pos > 0) {
        boundary_ = true;
        break;
      }
    }
  }

  CompressedInput input_;
  uint64_t out_;
  ZSTD_DCtx* dctx_;
  bool done_ = false, in_frame_ = false, boundary_ = false;
  uint64_t unchecked_frames_ = 0;  // frames seen without a content checksum
  uint64_t frame_out_ = 0;         // the output offset of the current frame's first byte
  PendingError pending_;
};

}  // namespace

std::unique_ptr<StreamCodec> make_zstd_codec() {
  return std::make_unique<CodecOf<ZstdDecoder>>("zstd", "zstd -dc {path} | pzstd -p 4 -o NEW.tar.zst (one frame per few MiB; zstd --long does not help)");
}

}  // namespace vdiskfs
