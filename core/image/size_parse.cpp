#include "core/image/size_parse.h"

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace vdiskfs {

std::optional<SizeSpec> parse_size(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string s(text);
  SizeSpec spec;
  for (char c : s)  // digits, one dot, unit letters and '%' only: no signs, spaces, nan
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '%') return std::nullopt;
  if (s.back() == '%') {
    s.pop_back();
    char* end = nullptr;
    const double p = std::strtod(s.c_str(), &end);
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])) || *end != '\0' ||
        !(p >= 0 && p <= 1e6))
      return std::nullopt;
    spec.is_percent = true;
    spec.percent = p;
    return spec;
  }
  uint64_t unit = 1;
  if (!s.empty() && std::isalpha(static_cast<unsigned char>(s.back()))) {
    if (s.back() == 'B' || s.back() == 'b') s.pop_back();
    if (s.size() > 1 && (s.back() == 'i')) s.pop_back();
  }
  if (!s.empty() && std::isalpha(static_cast<unsigned char>(s.back()))) {
    switch (std::toupper(static_cast<unsigned char>(s.back()))) {
      case 'K': unit = 1ull << 10; break;
      case 'M': unit = 1ull << 20; break;
      case 'G': unit = 1ull << 30; break;
      case 'T': unit = 1ull << 40; break;
      default: return std::nullopt;
    }
    s.pop_back();
  }
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE || v > UINT64_MAX / unit) return std::nullopt;
  spec.bytes = v * unit;
  return spec;
}

}  // namespace vdiskfs
