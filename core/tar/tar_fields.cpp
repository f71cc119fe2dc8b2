#include "core/tar/tar_fields.h"

#include <cstring>

namespace vdiskfs::tar {

std::optional<int64_t> parse_number(const uint8_t* field, size_t len) {
  if (len > 0 && (field[0] & 0x80)) {
    // Base-256, big-endian two's complement; 0xff starts a negative number.
    const bool negative = field[0] == 0xff;
    uint64_t v = negative ? ~uint64_t(0) : 0;
    for (size_t i = 0; i < len; ++i) {
      const uint8_t b = (i == 0 && !negative) ? (field[0] & 0x7f) : field[i];
      if (!negative && (v >> 56) != 0) return std::nullopt;  // beyond 64 bits
      v = (v << 8) | b;
    }
    if (!negative && v > uint64_t(INT64_MAX)) return std::nullopt;
    return int64_t(v);
  }
  size_t i = 0;
  while (i < len && field[i] == ' ') ++i;
  int64_t v = 0;
  bool digits = false;
  for (; i < len && field[i] >= '0' && field[i] <= '7'; ++i) {
    if (v > (INT64_MAX >> 3)) return std::nullopt;
    v = v * 8 + (field[i] - '0');
    digits = true;
  }
  for (; i < len; ++i)
    if (field[i] != ' ' && field[i] != '\0') return std::nullopt;
  if (!digits) return 0;  // an empty field means 0 (old archives leave some blank)
  return v;
}

bool checksum_ok(const uint8_t* header) {
  const auto stored = parse_number(header + 148, 8);
  if (!stored) return false;
  // The sum counts the checksum field as eight spaces.
  int64_t unsigned_sum = 8 * ' ';
  for (size_t i = 0; i < 148; ++i) unsigned_sum += header[i];
  for (size_t i = 156; i < kBlock; ++i) unsigned_sum += header[i];
  if (*stored == unsigned_sum) return true;
  int64_t signed_sum = 8 * ' ';  // historic archivers summed signed chars
  for (size_t i = 0; i < kBlock; ++i)
    if (i < 148 || i >= 156) signed_sum += int8_t(header[i]);
  return *stored == signed_sum;
}

bool is_zero_block(const uint8_t* block) {
  for (size_t i = 0; i < kBlock; ++i)
    if (block[i]) return false;
  return true;
}

std::string_view field_string(const uint8_t* field, size_t len) {
  const void* nul = std::memchr(field, 0, len);
  return std::string_view(reinterpret_cast<const char*>(field),
                          nul ? size_t(static_cast<const uint8_t*>(nul) - field) : len);
}

std::optional<uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + uint64_t(c - '0');
  }
  return v;
}

bool parse_pax_records(std::string_view data, std::vector<std::pair<std::string, std::string>>& out) {
  while (!data.empty()) {
    if (data.front() == '\0') break;  // padding after the last record
    const size_t space = data.find(' ');
    if (space == std::string_view::npos) return false;
    const auto len = parse_decimal(data.substr(0, space));
    if (!len || *len <= space + 1 || *len > data.size() || data[*len - 1] != '\n') return false;
    const std::string_view record = data.substr(space + 1, *len - space - 2);
    const size_t eq = record.find('=');
    if (eq == std::string_view::npos) return false;
    out.emplace_back(std::string(record.substr(0, eq)), std::string(record.substr(eq + 1)));
    data.remove_prefix(*len);
  }
  return true;
}

std::optional<int64_t> parse_pax_time(std::string_view text) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  const size_t dot = text.find('.');
  const auto seconds = parse_decimal(text.substr(0, dot));
  if (!seconds || *seconds > uint64_t(INT64_MAX / 1000000000) - 1) return std::nullopt;
  int64_t ns = 0;
  if (dot != std::string_view::npos) {
    std::string_view frac = text.substr(dot + 1);
    int64_t scale = 100000000;
    for (char c : frac) {
      if (c < '0' || c > '9') return std::nullopt;
      ns += (c - '0') * scale;  // digits beyond nanoseconds are dropped
      scale /= 10;
    }
  }
  const int64_t total = int64_t(*seconds) * 1000000000 + ns;
  return negative ? -total : total;
}

}  // namespace vdiskfs::tar
