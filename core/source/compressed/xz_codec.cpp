#include "core/source/compressed/xz_codec.h"

#include <fmt/core.h>
#include <lzma.h>

#include <cstdlib>
#include <cstring>

namespace vdiskfs {
namespace {

// liblzma's messages for its return codes.
const char* lzma_why(lzma_ret r) {
  switch (r) {
    case LZMA_MEM_ERROR: return "out of memory";
    case LZMA_MEMLIMIT_ERROR: return "memory limit reached";
    case LZMA_FORMAT_ERROR: return "not in the xz format";
    case LZMA_OPTIONS_ERROR: return "unsupported options (a filter this liblzma does not know?)";
    case LZMA_DATA_ERROR: return "compressed data is corrupt (check mismatch or bad data)";
    case LZMA_BUF_ERROR: return "the data ends early (the file is truncated)";
    default: return "liblzma error";
  }
}

// A decoder of an xz file walking its structure itself (stream header,
// blocks, index, stream footer, stream padding), each block decoded by
// lzma_block_decoder, which checks the block's own check (CRC-32, CRC-64 or
// SHA-256). A restart point is a block start: RestartPoint::state holds one
// byte, the stream's check type, which the block header needs.
class XzDecoder : public StreamDecoder {
 public:
  XzDecoder(const ArchiveFile& in, const RestartPoint& from) : input_(in, "xz", from.in_offset), out_(from.out_offset) {
    if (from.state.size() == 1) {
      if (from.state[0] > LZMA_CHECK_ID_MAX) throw input_.corrupt(from.in_offset, "bad restart point");
      flags_.version = 0;
      flags_.check = lzma_check(from.state[0]);
      part_ = Part::block_header;
    }
  }
  ~XzDecoder() override { lzma_end(&strm_); }

  size_t read(uint8_t* buf, size_t len) override {
    size_t got = 0;
    pending_.decode(boundary_, [&] { decode_some(buf, len, got); }, [&] { return got; });
    out_ += got;
    return got;
  }

  uint64_t out_offset() const override { return out_; }
  uint64_t in_offset() const override { return input_.offset(); }

  std::optional<RestartPoint> restart_point() const override {
    if (!boundary_) return std::nullopt;
    return RestartPoint{out_, input_.offset(), {uint8_t(flags_.check)}};
  }

 private:
  enum class Part { stream_header, block_header, block, done };

  // Decodes into buf[got, len) until it is full, the stream ends, or a
  // block ends (a restart point); `got` counts the bytes, also when it
  // throws.
  void decode_some(uint8_t* buf, size_t len, size_t& got) {
    while (got < len && part_ != Part::done) {
      switch (part_) {
        case Part::stream_header: stream_header(); break;
        case Part::block_header: block_header(); break;
        case Part::block: block(buf + got, len - got, got); break;
        case Part::done: break;
      }
      if (boundary_ && got > 0) break;
      boundary_ = false;  // a block that ended without output in this call: go on
    }
  }

  // Stream padding (zero bytes, a multiple of four) and the next stream's
  // header, or the end of the file.
  void stream_header() {
    uint8_t h[LZMA_STREAM_HEADER_SIZE];
    const uint64_t at = input_.offset();
    for (;;) {
      auto [p, n] = input_.peek();
      if (n == 0) {
        // The streams before passed their checks.
        if ((input_.offset() - at) % 4)
          throw input_.corrupt(at, "stream padding is not a multiple of four bytes", Suspect::none);
        part_ = Part::done;
        return;
      }
      if (p[0] != 0) break;
      input_.consume(1);
    }
    const uint64_t start = input_.offset();
    if (!input_.take(h, sizeof h)) throw input_.truncated(start, "the file ends inside a stream header (truncated)");
    if (const lzma_ret r = lzma_stream_header_decode(&flags_, h); r != LZMA_OK)
      throw input_.corrupt(start, fmt::format("bad stream header: {}", lzma_why(r)), Suspect::none);
    part_ = Part::block_header;
  }

  // A block header (then its block), or the index and the stream footer.
  void block_header() {
    const uint64_t at = input_.offset();
    uint8_t h[LZMA_BLOCK_HEADER_SIZE_MAX];
    if (!input_.take(h, 1)) throw input_.truncated(at, "the file ends where a block or the index should start (truncated)");
    if (h[0] == 0) return index_and_footer(at);
    // lzma_block_decoder keeps a pointer to block_ until the block ends.
    block_ = lzma_block{};
    block_.version = 1;
    block_.check = flags_.check;
    block_.filters = filters_;
    block_.header_size = lzma_block_header_size_decode(h[0]);
    if (!input_.take(h + 1, block_.header_size - 1))
      throw input_.truncated(at, "the file ends inside a block header (truncated)");
    lzma_ret r = lzma_block_header_decode(&block_, nullptr, h);
    // The blocks before passed their checks.
    if (r != LZMA_OK) throw input_.corrupt(at, fmt::format("bad block header: {}", lzma_why(r)), Suspect::none);
    r = lzma_block_decoder(&strm_, &block_);
    for (size_t i = 0; filters_[i].id != LZMA_VLI_UNKNOWN; ++i) {
      std::free(filters_[i].options);  // the decoder copied what it needs
      filters_[i].options = nullptr;
    }
    if (r != LZMA_OK)
      throw input_.corrupt(at, fmt::format("cannot decode the block: {}", lzma_why(r)), Suspect::none);
    part_ = Part::block;
  }

  // Decodes block data into `buf`; at the block's end (its padding and
  // check verified), the next block start is a restart point.
  // `got` (bytes this read() had before) grows by what was decoded, also
  // when it throws.
  void block(uint8_t* buf, size_t len, size_t& got) {
    strm_.next_out = buf;
    strm_.avail_out = len;
    struct Count {  // adds what was decoded to `got` however block() leaves
      lzma_stream& s;
      size_t len;
      size_t& got;
      ~Count() { got += len - s.avail_out; }
    } count{strm_, len, got};
    while (strm_.avail_out) {
      auto [p, n] = input_.peek();
      strm_.next_in = p;
      strm_.avail_in = n;
      const lzma_ret r = lzma_code(&strm_, n ? LZMA_RUN : LZMA_FINISH);
      input_.consume(n - strm_.avail_in);
      const uint64_t at = input_.offset();  // where liblzma stopped reading
      if (r == LZMA_STREAM_END) {
        part_ = Part::block_header;
        boundary_ = true;
        break;
      }
      if (r == LZMA_BUF_ERROR) throw input_.truncated(at, lzma_why(r));
      // A block's check covers the whole block: its output is in doubt
      // from the block's start (total_out counts from there).
      if (r != LZMA_OK)
        throw input_.corrupt(at, lzma_why(r), Suspect::since_unit, out_ + got + (len - strm_.avail_out) - strm_.total_out);
      if (n == 0) throw input_.truncated(at, "the file ends inside a block (truncated)");
    }
  }

  // The index (decoded to consume it: liblzma checks its CRC-32) and the
  // stream footer, whose flags must equal the header's.
  void index_and_footer(uint64_t at) {
    lzma_index* index = nullptr;
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_index_decoder(&s, &index, UINT64_MAX) != LZMA_OK) throw input_.failed(at, "liblzma cannot start");
    const uint8_t zero = 0;  // the indicator byte, consumed above
    s.next_in = &zero;
    s.avail_in = 1;
    lzma_ret r = lzma_code(&s, LZMA_RUN);
    while (r == LZMA_OK) {
      auto [p, n] = input_.peek();
      if (n == 0) break;
      s.next_in = p;
      s.avail_in = n;
      r = lzma_code(&s, LZMA_RUN);
      input_.consume(n - s.avail_in);
    }
    lzma_end(&s);
    if (index) lzma_index_end(index, nullptr);
    // The blocks before the index passed their checks.
    if (r != LZMA_STREAM_END)
      throw input_.corrupt(at, fmt::format("bad index: {}", r == LZMA_OK ? "the file ends inside it" : lzma_why(r)),
                           Suspect::none);
    const uint64_t foot = input_.offset();
    uint8_t f[LZMA_STREAM_HEADER_SIZE];
    lzma_stream_flags footer;
    if (!input_.take(f, sizeof f)) throw input_.truncated(foot, "the file ends inside the stream footer (truncated)");
    if (lzma_stream_footer_decode(&footer, f) != LZMA_OK || lzma_stream_flags_compare(&flags_, &footer) != LZMA_OK)
      throw input_.corrupt(foot, "bad stream footer", Suspect::none);
    part_ = Part::stream_header;
  }

  CompressedInput input_;
  uint64_t out_;
  lzma_stream strm_ = LZMA_STREAM_INIT;
  lzma_stream_flags flags_{};
  lzma_block block_{};
  lzma_filter filters_[LZMA_FILTERS_MAX + 1];
  Part part_ = Part::stream_header;
  bool boundary_ = false;
  PendingError pending_;
};

}  // namespace

std::unique_ptr<StreamCodec> make_xz_codec() {
  return std::make_unique<CodecOf<XzDecoder>>("xz", "xz -dc {path} | xz -T0 --block-size=8MiB > NEW.tar.xz (a block per 8 MiB)");
}

}  // namespace vdiskfs
