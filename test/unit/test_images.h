#pragma once
// Small helpers shared by the unit tests: an in-memory Image and a
// temporary directory that removes itself.
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "core/image/image.h"
#include "core/source/tree.h"

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
// The names of a directory node's children, in tree order.
inline std::vector<std::string> child_names(const Tree& t, uint32_t dir) {
  std::vector<std::string> out;
  const Node& d = t.nodes[dir];
  for (uint32_t i = t.child_begin(d); i < t.child_begin(d) + t.child_count(d); ++i)
    out.emplace_back(t.name(t.dirents[i]));
  return out;
}

// Writes `bytes` as the whole content of the file `p`.
inline void write_file(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!f.good()) throw std::runtime_error("cannot write " + p.string());
}

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

// Decodes an n-byte little-endian field independently of core/image/endian.h, so
// the tests do not check the code with itself.
inline uint64_t le(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace vdiskfs::test
