#include "core/source/compressed/bzip2_codec.h"

#include <bzlib.h>
#include <fmt/core.h>

#include <cstring>

namespace vdiskfs {
namespace {

constexpr uint64_t kBlockMagic = 0x314159265359;  // pi: a block starts
constexpr uint64_t kEndMagic = 0x177245385090;    // sqrt(pi): the stream ends
constexpr uint64_t kMagicMask = (1ull << 48) - 1;
// A block holds at most 900 kB before the Burrows-Wheeler transform; its
// bits never come near this.
constexpr size_t kMaxBlockBytes = 8u << 20;

// A CompressedInput read bit by bit, most significant bit first.
class BitReader {
 public:
  explicit BitReader(CompressedInput& in) : in_(in) {}
  // The next bit, or -1 at the end of the file.
  int bit() {
    if (left_ == 0) {
      auto [p, n] = in_.peek();
      if (n == 0) return -1;
      byte_ = p[0];
      in_.consume(1);
      left_ = 8;
    }
    --left_;
    return (byte_ >> left_) & 1;
  }
  // The next `n` bits (n <= 64) as a number; false at the end of the file.
  bool bits(int n, uint64_t& value) {
    value = 0;
    for (int i = 0; i < n; ++i) {
      const int b = bit();
      if (b < 0) return false;
      value = value << 1 | uint64_t(b);
    }
    return true;
  }
  void align() { left_ = 0; }  // to the next byte boundary
  uint64_t position() const { return in_.offset() * 8 - uint64_t(left_); }  // in bits

 private:
  CompressedInput& in_;
  uint8_t byte_ = 0;
  int left_ = 0;  // bits of byte_ not yet read
};

// Bits appended most significant first.
class BitWriter {
 public:
  void put(int b) {
    if (bits_ % 8 == 0) bytes_.push_back(0);
    if (b) bytes_.back() |= uint8_t(0x80 >> (bits_ % 8));
    ++bits_;
  }
  void put(uint64_t value, int n) {
    for (int i = n - 1; i >= 0; --i) put(int((value >> i) & 1));
  }
  // Keeps the first `bits` bits.
  void truncate(uint64_t bits) {
    bits_ = bits;
    bytes_.resize(size_t((bits + 7) / 8));
    if (bits % 8) bytes_.back() &= uint8_t(0xff00 >> (bits % 8));
  }
  uint64_t size() const { return bits_; }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  uint64_t bits_ = 0;
};

// A decoder of a bzip2 file from a stream start (RestartPoint::state
// empty) or a block start (state: the stream's level digit and the bit of
// the byte at in_offset where the block's magic begins, 0 = its most
// significant).
class Bzip2Decoder : public StreamDecoder {
 public:
  Bzip2Decoder(const ArchiveFile& in, const RestartPoint& from)
      : input_(in, "bzip2", from.in_offset), bits_(input_), out_(from.out_offset) {
    if (from.state.empty()) return;  // a stream start
    if (from.state.size() != 2 || from.state[0] < '1' || from.state[0] > '9' || from.state[1] > 7)
      throw input_.corrupt(from.in_offset, "a bad restart point");
    level_ = from.state[0];
    uint64_t skipped, magic;
    if (!bits_.bits(from.state[1], skipped) || !bits_.bits(48, magic) || magic != kBlockMagic)
      throw input_.corrupt(from.in_offset, "no block starts at the restart point (the file changed?)");
    next_ = Next::block;
    check_stream_crc_ = false;  // the blocks before this one are not decoded
  }
  ~Bzip2Decoder() override { end_block(); }
  Bzip2Decoder(const Bzip2Decoder&) = delete;
  Bzip2Decoder& operator=(const Bzip2Decoder&) = delete;

  size_t read(uint8_t* buf, size_t len) override {
    size_t got = 0;
    pending_.decode(boundary_, [&] { decompress_some(buf, len, got); }, [&] { return got; });
    out_ += got;
    return got;
  }

  uint64_t out_offset() const override { return out_; }
  uint64_t in_offset() const override { return input_.offset(); }

  std::optional<RestartPoint> restart_point() const override {
    if (!boundary_ || next_ == Next::end || next_ == Next::cut) return std::nullopt;
    if (next_ == Next::stream) return RestartPoint{out_, bits_.position() / 8, {}};
    const uint64_t at = bits_.position() - 48;  // the next block's magic was read
    return RestartPoint{out_, at / 8, {level_, uint8_t(at % 8)}};
  }

 private:
  // What follows the block being decoded: a stream header, a block, the
  // file's end, the end-of-stream marker (its CRC is read after the block's
  // output), or the end of a cut file.
  enum class Next { stream, block, end, end_marker, cut };

  // Decodes into buf[got, len) until it is full, the stream ends, or a
  // block ends (a restart point); `got` counts the bytes, also when it
  // throws. A block's CRC covers the whole block: a block that does not
  // decode puts its output in doubt from its start.
  void decompress_some(uint8_t* buf, size_t len, size_t& got) {
    while (got < len) {
      if (!active_) {
        block_out_ = out_ + got;
        if (!next_block()) break;
        continue;
      }
      strm_.next_out = reinterpret_cast<char*>(buf + got);
      strm_.avail_out = unsigned(std::min<size_t>(len - got, 1u << 30));
      const unsigned before = strm_.avail_out;
      const int ret = BZ2_bzDecompress(&strm_);
      got += before - strm_.avail_out;
      if (ret == BZ_STREAM_END) {
        end_block();
        if (next_ == Next::end_marker) stream_end();
        if (got > 0) {  // the next block or stream is a restart point
          boundary_ = true;
          break;
        }
      } else if (ret != BZ_OK) {
        throw input_.corrupt(block_bit_ / 8,
                             fmt::format("the block at bit {} of that byte does not decode: {}", block_bit_ % 8,
                                         ret == BZ_DATA_ERROR ? "CRC mismatch or bad data"
                                                              : "libbz2 error " + std::to_string(ret)),
                             Suspect::since_unit, block_out_);
      } else if (before == strm_.avail_out && strm_.avail_in == 0) {
        throw input_.corrupt(block_bit_ / 8, "the block ends early", Suspect::since_unit, block_out_);
      }
    }
  }

  // Reads up to the next block and starts decoding it; false at the end of
  // the file.
  bool next_block() {
    if (next_ == Next::cut)
      throw input_.truncated(input_.offset(), "the file ends inside the magic after a block (truncated)");
    while (next_ == Next::stream) {
      if (input_.at_end()) {
        next_ = Next::end;
        return false;
      }
      stream_header();
    }
    if (next_ == Next::end) return false;
    load_block();
    return true;
  }

  // "BZh" and the level, then a block or an empty stream's end.
  void stream_header() {
    const uint64_t at = input_.offset();
    uint64_t head, magic;
    if (!bits_.bits(32, head) || (head >> 8) != 0x425a68 || (head & 0xff) < '1' || (head & 0xff) > '9')
      throw input_.corrupt(at, "no bzip2 stream header (BZh1-9) here: trailing data, or not a bzip2 file",
                           Suspect::none);  // the blocks before passed their CRCs
    level_ = uint8_t(head & 0xff);
    check_stream_crc_ = true;
    combined_crc_ = 0;
    if (!bits_.bits(48, magic)) throw input_.truncated(at, "the stream ends after its header (the file is truncated)");
    if (magic == kBlockMagic) next_ = Next::block;
    else if (magic == kEndMagic) stream_end();
    else throw input_.corrupt(at, "no block after the stream header");
  }

  // After the end-of-stream magic: the combined CRC, padding to a byte.
  void stream_end() {
    uint64_t crc;
    if (!bits_.bits(32, crc)) throw input_.truncated(input_.offset(), "the stream ends inside its end marker (truncated)");
    if (check_stream_crc_ && uint32_t(crc) != combined_crc_)
      throw input_.corrupt(input_.offset(), fmt::format("the stream's combined CRC {:08x} is not its blocks' {:08x}",
                                                        uint32_t(crc), combined_crc_));
    bits_.align();
    next_ = Next::stream;
  }

  // The block whose magic was just read, cut out as a stream of its own
  // and handed to libbz2; notes what follows it.
  void load_block() {
    block_bit_ = bits_.position() - 48;
    uint64_t crc;
    if (!bits_.bits(32, crc)) throw input_.truncated(block_bit_ / 8, "the stream ends inside a block header (truncated)");
    BitWriter w;
    w.put(0x425a6800u | level_, 32);
    w.put(kBlockMagic, 48);
    w.put(crc, 32);
    const uint64_t data_start = w.size();
    uint64_t window = 0, magic = 0;
    for (;;) {
      const int b = bits_.bit();
      if (b < 0) {
        cut_block(w, window, data_start);
        break;
      }
      w.put(b);
      window = (window << 1 | uint64_t(b)) & kMagicMask;
      if (w.size() - data_start >= 48 && (window == kBlockMagic || window == kEndMagic)) {
        magic = window;
        break;
      }
      if (w.size() / 8 > kMaxBlockBytes) throw input_.corrupt(block_bit_ / 8, "no block end within 8 MiB");
    }
    if (magic) {
      w.truncate(w.size() - 48);
      next_ = magic == kEndMagic ? Next::end_marker : Next::block;
    }
    w.put(kEndMagic, 48);
    w.put(crc, 32);  // one block: the combined CRC is the block's
    combined_crc_ = ((combined_crc_ << 1) | (combined_crc_ >> 31)) ^ uint32_t(crc);
    block_ = std::move(w.bytes());
    std::memset(&strm_, 0, sizeof strm_);
    if (BZ2_bzDecompressInit(&strm_, 0, 0) != BZ_OK) throw input_.failed(block_bit_ / 8, "libbz2 cannot start");
    active_ = true;
    strm_.next_in = reinterpret_cast<char*>(block_.data());
    strm_.avail_in = unsigned(block_.size());
  }

  // The file ended inside a block or inside the magic after it: the
  // block's data is taken to end where the longest tail of what was read
  // (`window`, its last 48 bits) could begin a block or end-of-stream
  // magic. libbz2 checks the block's CRC: a wrong guess fails as a bad
  // block. Throws when not even that much is there.
  void cut_block(BitWriter& w, uint64_t window, uint64_t data_start) {
    const uint64_t have = w.size() - data_start;
    int cut = 0;
    for (int k = 47; k > 0 && !cut; --k) {
      const uint64_t tail = window & ((1ull << k) - 1);
      if (uint64_t(k) < have && (tail == kBlockMagic >> (48 - k) || tail == kEndMagic >> (48 - k))) cut = k;
    }
    if (have == uint64_t(cut)) throw input_.truncated(block_bit_ / 8, "the stream ends inside a block (the file is truncated)");
    w.truncate(w.size() - uint64_t(cut));
    next_ = Next::cut;
  }

  void end_block() {
    if (active_) BZ2_bzDecompressEnd(&strm_);
    active_ = false;
  }

  CompressedInput input_;
  BitReader bits_;
  uint64_t out_;
  Next next_ = Next::stream;
  uint8_t level_ = '9';
  bool check_stream_crc_ = true;
  uint32_t combined_crc_ = 0;
  uint64_t block_bit_ = 0;  // where the block being decoded starts, in bits
  uint64_t block_out_ = 0;  // the output offset of its first byte
  std::vector<uint8_t> block_;
  bz_stream strm_{};
  bool active_ = false, boundary_ = false;
  PendingError pending_;
};

}  // namespace

std::unique_ptr<StreamCodec> make_bzip2_codec() {
  return std::make_unique<CodecOf<Bzip2Decoder>>("bzip2", "(restart points every bzip2 block: any bzip2 or pbzip2 file has them)");
}

}  // namespace vdiskfs
