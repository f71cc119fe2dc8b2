#pragma once
// Small helpers shared by the unit tests: an in-memory Image and a
// temporary directory that removes itself.
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "core/image.h"

namespace vdiskfs::test {

// Serves a byte vector as an Image.
class BytesImage : public vdiskfs::Image {
 public:
  explicit BytesImage(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override {
    if (offset > bytes_.size() || len > bytes_.size() - offset) return Status::io_error;
    std::memcpy(buf, bytes_.data() + offset, len);
    return Status::ok;
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// A fresh directory under /tmp (mode 0755 so other users can traverse it),
// removed with everything in it at the end of the scope.
class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/vdiskfs-unit-XXXXXX";
    if (!mkdtemp(templ)) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = templ;
    ::chmod(templ, 0755);
  }
  ~TempDir() {
    std::error_code ec;
    // Make everything removable (tests chmod directories to 000).
    for (auto it = std::filesystem::recursive_directory_iterator(
             path_, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0755);
    }
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  std::filesystem::path path_;
};

// True when [p, p + n) holds only zero bytes.
inline bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}

// Deterministic pseudo-random bytes.
inline std::vector<uint8_t> pattern_bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    v[i] = uint8_t(x);
  }
  return v;
}

// Decodes an n-byte little-endian field independently of core/endian.h, so
// the tests do not check the code with itself.
inline uint64_t le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace vdiskfs::test
