#pragma once
// Parses sizes users type: "4096", "512K", "256M", "10G", "1T" (binary
// units), and "20%" as a fraction of a reference.
#include <cstdint>
#include <optional>
#include <string_view>

namespace vdiskfs {

struct SizeSpec {
  uint64_t bytes = 0;
  double percent = 0;  // used when is_percent
  bool is_percent = false;
  uint64_t resolve(uint64_t reference) const {
    return is_percent ? uint64_t(double(reference) * percent / 100.0) : bytes;
  }
};

std::optional<SizeSpec> parse_size(std::string_view text);

}  // namespace vdiskfs
