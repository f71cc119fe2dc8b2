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
    boundary_ = false;
    ZSTD_outBuffer out{buf, len, 0};
    while (!done_ && out.pos < out.size) {
      auto [p, n] = input_.peek();
      if (n == 0) {
        if (in_frame_) throw input_.truncated(input_.offset(), "the stream ends inside a frame (the file is truncated)");
        done_ = true;
        break;
      }
      const uint64_t at = input_.offset();
      ZSTD_inBuffer in{p, n, 0};
      const size_t ret = ZSTD_decompressStream(dctx_, &out, &in);
      input_.consume(in.pos);
      // Between frames (read() returns at each frame's end), the frames
      // before passed their checks.
      if (ZSTD_isError(ret))
        throw input_.corrupt(at, ZSTD_getErrorName(ret), in_frame_ ? Suspect::since_restart_point : Suspect::none);
      in_frame_ = ret != 0;
      // A frame ends here, fully flushed: the next frame is a restart point.
      if (ret == 0 && out.pos > 0) {
        boundary_ = true;
        break;
      }
    }
    out_ += out.pos;
    return out.pos;
  }

  uint64_t out_offset() const override { return out_; }
  uint64_t in_offset() const override { return input_.offset(); }

  std::optional<RestartPoint> restart_point() const override {
    if (!boundary_) return std::nullopt;
    return RestartPoint{out_, input_.offset(), {}};
  }

 private:
  CompressedInput input_;
  uint64_t out_;
  ZSTD_DCtx* dctx_;
  bool done_ = false, in_frame_ = false, boundary_ = false;
};

}  // namespace

std::unique_ptr<StreamCodec> make_zstd_codec() {
  return std::make_unique<CodecOf<ZstdDecoder>>("zstd", "zstd -dc {path} | pzstd -p 4 -o NEW.tar.zst (one frame per few MiB; zstd --long does not help)");
}

}  // namespace vdiskfs
