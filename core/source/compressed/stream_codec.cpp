#include "core/source/compressed/stream_codec.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "core/source/compressed/bzip2_codec.h"
#include "core/source/compressed/gzip_codec.h"
#include "core/source/compressed/xz_codec.h"
#include "core/source/compressed/zstd_codec.h"

namespace vdiskfs {

CompressedInput::CompressedInput(const ArchiveFile& in, const std::string& codec, uint64_t offset)
    : in_(in), codec_(codec), buf_(256 * 1024), start_(offset) {}

std::pair<const uint8_t*, size_t> CompressedInput::peek() {
  if (pos_ < filled_) return {buf_.data() + pos_, filled_ - pos_};
  start_ += pos_;
  pos_ = filled_ = 0;
  const uint64_t size = in_.size();
  if (start_ >= size) return {buf_.data(), 0};
  const size_t want = size_t(std::min<uint64_t>(buf_.size(), size - start_));
  if (!ok(in_.read(start_, buf_.data(), want)))
    throw failed(start_, "the compressed file cannot be read (see the line above)");
  filled_ = want;
  return {buf_.data(), filled_};
}

bool CompressedInput::take(uint8_t* dst, size_t n) {
  while (n) {
    auto [p, got] = peek();
    if (got == 0) return false;
    const size_t k = std::min(n, got);
    std::memcpy(dst, p, k);
    consume(k);
    dst += k;
    n -= k;
  }
  return true;
}

void CompressedInput::seek(uint64_t offset) {
  if (offset >= start_ && offset <= start_ + filled_) {
    pos_ = size_t(offset - start_);
    return;
  }
  start_ = offset;
  pos_ = filled_ = 0;
}

CorruptStream CompressedInput::corrupt(uint64_t at, const std::string& why, Suspect suspect, uint64_t unit_out) const {
  return CorruptStream(fmt::format("{} stream of {} is corrupt at compressed offset {}: {}", codec_, in_.describe(), at, why),
                       at, suspect, unit_out);
}

std::unique_ptr<StreamCodec> detect_codec(const uint8_t* head, size_t len) {
  struct Entry {
    const char* magic;
    size_t len;
    std::unique_ptr<StreamCodec> (*make)();
  };
  // One line per codec.
  static const Entry table[] = {
      {"\x1f\x8b", 2, make_gzip_codec},
      {"\x28\xb5\x2f\xfd", 4, make_zstd_codec},
      {"\xfd" "7zXZ\0", 6, make_xz_codec},
      {"BZh", 3, make_bzip2_codec},
  };
  for (const Entry& e : table)
    if (len >= e.len && std::memcmp(head, e.magic, e.len) == 0) return e.make();
  // A zstd file may open with a skippable frame (magic 50..5f 2a 4d 18):
  // pzstd writes one before each frame.
  if (len >= 4 && (head[0] & 0xf0) == 0x50 && std::memcmp(head + 1, "\x2a\x4d\x18", 3) == 0) return make_zstd_codec();
  return nullptr;
}

}  // namespace vdiskfs
