#pragma once
// An Image over bytes held in memory (a short generated file, such as the
// ERROR file of a disk that could not be built).
#include <cstring>
#include <string>
#include <vector>

#include "core/image/image.h"

namespace vdiskfs {

class BytesImage final : public Image {
 public:
  explicit BytesImage(const std::string& text) : bytes_(text.begin(), text.end()) {}

  uint64_t size() const override { return bytes_.size(); }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override {
    std::memcpy(buf, bytes_.data() + offset, len);
    return Status::ok;
  }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace vdiskfs
