#include "core/source/compressed/gzip_codec.h"

#include <fmt/core.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace vdiskfs {
namespace {

constexpr size_t kWindow = 32768;  // deflate's largest distance, RFC 1951 section 2

// A decoder of a gzip file from a restart point. RestartPoint::state is
// empty at a member's header, else: [0] the number of bits (1..7) of the
// byte before in_offset not yet consumed (0: none), [1] that byte, then
// the window (the last up to 32 KiB of the member's output).
class GzipDecoder : public StreamDecoder {
 public:
  GzipDecoder(const ArchiveFile& in, const RestartPoint& from) : input_(in, "gzip", from.in_offset), out_(from.out_offset) {
    std::memset(&strm_, 0, sizeof strm_);
    raw_ = !from.state.empty();
    if (inflateInit2(&strm_, raw_ ? -15 : 31) != Z_OK) throw input_.failed(from.in_offset, "zlib cannot start (out of memory)");
    member_in_ = from.in_offset;
    member_out_ = from.out_offset;
    if (!raw_) return;
    if (from.state.size() < 2 || from.state[0] > 7 || from.state.size() > 2 + 32768) {
      inflateEnd(&strm_);
      throw input_.corrupt(from.in_offset, "bad restart point");
    }
    const int bits = from.state[0];
    if (bits) inflatePrime(&strm_, bits, from.state[1] >> (8 - bits));
    if (from.state.size() > 2) inflateSetDictionary(&strm_, from.state.data() + 2, uInt(from.state.size() - 2));
  }
  ~GzipDecoder() override { inflateEnd(&strm_); }

  size_t read(uint8_t* buf, size_t len) override {
    member_start_ = false;
    strm_.next_out = buf;
    strm_.avail_out = uInt(std::min<size_t>(len, 1u << 30));
    const uInt want = strm_.avail_out;
    want_ = want;
    pending_.decode(boundary_, [&] { inflate_some(want); }, [&] { return want - strm_.avail_out; });
    const size_t produced = want - strm_.avail_out;
    out_ += produced;
    return produced;
  }

  uint64_t out_offset() const override { return out_; }
  uint64_t in_offset() const override { return input_.offset(); }

  std::optional<RestartPoint> restart_point() const override {
    if (!boundary_) return std::nullopt;
    RestartPoint r{out_, input_.offset(), {}};
    if (member_start_) {
      r.in_offset = member_in_;
      return r;
    }
    const int bits = strm_.data_type & 7;
    r.state.resize(2 + kWindow);
    r.state[0] = uint8_t(bits);
    r.state[1] = bits ? last_byte_ : 0;
    uInt have = kWindow;
    z_stream& s = const_cast<z_stream&>(strm_);  // inflateGetDictionary does not change the stream
    if (inflateGetDictionary(&s, r.state.data() + 2, &have) != Z_OK) return std::nullopt;
    r.state.resize(2 + have);
    return r;
  }

 private:
  // Inflates into strm_'s output (`want` bytes asked) until it is full, the
  // stream ends, or a restart point is reached.
  void inflate_some(uInt want) {
    while (!done_ && strm_.avail_out > 0) {
      if (between_members_) {
        next_member();
        if (done_ || strm_.avail_out < want) break;  // the member start is a restart point
        boundary_ = member_start_ = false;
        continue;
      }
      auto [p, n] = input_.peek();
      if (n == 0) throw input_.truncated(input_.offset(), "the stream ends early (the file is truncated)");
      strm_.next_in = const_cast<Bytef*>(p);
      strm_.avail_in = uInt(n);
      const int ret = inflate(&strm_, Z_BLOCK);
      const size_t used = n - strm_.avail_in;
      if (used) last_byte_ = p[used - 1];
      input_.consume(used);
      if (ret == Z_STREAM_END) {
        if (raw_) skip_trailer();
        between_members_ = true;
        continue;
      }
      if (ret != Z_OK && ret != Z_BUF_ERROR) throw inflate_error(ret);
      // At the end of a deflate block (not the last): a place to restart.
      if ((strm_.data_type & 128) && !(strm_.data_type & 64) && strm_.avail_out < want) {
        boundary_ = true;
        break;
      }
    }
  }

  // The CorruptStream of inflate's error `ret`. The member's CRC-32 and
  // ISIZE (RFC 1952 section 2.3.1) are its only checks, at its end: a
  // failed check or a decoding error puts the whole member's output in
  // doubt (damaged deflate data often decodes on without error for a while,
  // so where it went wrong cannot be told). A damaged member header: none of
  // it was output.
  CorruptStream inflate_error(int ret) const {
    const std::string why = strm_.msg ? strm_.msg : fmt::format("zlib error {}", ret);
    const bool check = !raw_ && (why == "incorrect data check" || why == "incorrect length check");
    return input_.corrupt(input_.offset(),
                          check ? why + " (the member's CRC-32 or size does not match)"
                                : why + " (a gzip member is checked only at its end: none of it can be trusted)",
                          Suspect::since_unit, member_out_);
  }

  // After a member's end: starts the next member, or ends the stream at the
  // end of the file. Trailing zero bytes (tape padding) end it too.
  void next_member() {
    between_members_ = false;
    auto [p, n] = input_.peek();
    if (n == 0) {
      done_ = true;
      return;
    }
    if (p[0] != 0x1f || (n > 1 && p[1] != 0x8b)) {
      if (p[0] == 0 && all_zero_to_end()) {
        done_ = true;
        return;
      }
      // What came before passed its member's CRC-32.
      throw input_.corrupt(input_.offset(), "garbage after a gzip member (no gzip header follows)", Suspect::none);
    }
    if (inflateReset2(&strm_, 31) != Z_OK) throw input_.failed(input_.offset(), "zlib cannot restart");
    raw_ = false;
    member_in_ = input_.offset();
    member_out_ = out_ + (want_ - strm_.avail_out);
    member_start_ = boundary_ = true;
  }

  bool all_zero_to_end() {
    for (;;) {
      auto [p, n] = input_.peek();
      if (n == 0) return true;
      for (size_t i = 0; i < n; ++i)
        if (p[i]) return false;
      input_.consume(n);
    }
  }

  // The 8-byte trailer (CRC-32, ISIZE) of a member decoded from a restart
  // point in raw mode: not checked, as the member's start was not seen.
  void skip_trailer() {
    size_t left = 8;
    while (left) {
      auto [p, n] = input_.peek();
      if (n == 0) throw input_.truncated(input_.offset(), "the stream ends inside a member trailer (truncated)");
      const size_t k = std::min(left, n);
      input_.consume(k);
      left -= k;
    }
  }

  CompressedInput input_;
  z_stream strm_;
  uint64_t out_;
  uint64_t member_in_ = 0;
  uint64_t member_out_ = 0;  // output offset of the current member's first byte
  uInt want_ = 0;            // what the current read() asked for
  bool raw_ = false, done_ = false, between_members_ = false;
  bool boundary_ = false, member_start_ = false;
  uint8_t last_byte_ = 0;
  PendingError pending_;
};

}  // namespace

std::unique_ptr<StreamCodec> make_gzip_codec() {
  return std::make_unique<CodecOf<GzipDecoder>>("gzip", "gunzip -c {path} | pigz -i > NEW.tar.gz (independent blocks)");
}

}  // namespace vdiskfs
