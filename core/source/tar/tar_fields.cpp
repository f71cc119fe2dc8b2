#include "core/source/tar/tar_fields.h"

#include <cstring>

namespace vdiskfs::tar {

namespace {

// Base-256: the first byte's low 7 bits extended from their sign bit (0x40),
// then the other bytes, big-endian two's complement.
std::optional<int64_t> parse_base256(std::string_view field) {
  const auto byte = [&](size_t i) { return uint8_t(field[i]); };
  const bool negative = byte(0) & 0x40;
  const uint64_t sign_fill = negative ? ~uint64_t(0) : 0;
  uint64_t v = sign_fill << 7 | (byte(0) & 0x7f);
  for (size_t i = 1; i < field.size(); ++i) {
    if ((v >> 55) != (sign_fill >> 55)) return std::nullopt;  // would leave int64
    v = v << 8 | byte(i);
  }
  if (bool(v >> 63) != negative) return std::nullopt;
  return int64_t(v);
}

}  // namespace

std::optional<int64_t> parse_number(std::string_view field) {
  const size_t len = field.size();
  if (len > 0 && (uint8_t(field[0]) & 0x80)) return parse_base256(field);
  size_t i = 0;
  while (i < len && (field[i] == ' ' || field[i] == '\t')) ++i;
  int64_t v = 0;
  for (; i < len && field[i] >= '0' && field[i] <= '7'; ++i) {
    if (v > (INT64_MAX >> 3)) return std::nullopt;
    v = v * 8 + (field[i] - '0');
  }
  // After the digits: the field's end or a terminator; what follows a
  // terminator is ignored by both tar programs. No digits at all is 0 (old
  // archives leave some fields blank). The two differ on a field like
  // "0000644x" or "-644": bsdtar (tar_atol_base_n) stops at the first
  // non-octal byte and negates after '-'; GNU tar (list.c, from_header)
  // reports "Archive contains ... where numeric ... value expected" for the
  // first and reads the second as its obsolete base-64, another value. No
  // tar writes either; GNU tar's refusal is the safe one and is followed
  // (nullopt: the caller refuses the field).
  if (i < len && field[i] != ' ' && field[i] != '\0' && field[i] != '\t' && field[i] != '\n') return std::nullopt;
  return v;
}

bool checksum_ok(const uint8_t* header) {
  constexpr size_t at = offsetof(Header, chksum), len = sizeof(Header::chksum);
  const auto stored = parse_number(std::string_view(reinterpret_cast<const char*>(header) + at, len));
  if (!stored) return false;
  // The sum counts the checksum field as spaces.
  int64_t unsigned_sum = len * ' ';
  int64_t signed_sum = len * ' ';  // historic archivers summed signed chars
  for (size_t i = 0; i < kBlock; ++i) {
    if (i >= at && i < at + len) continue;
    unsigned_sum += header[i];
    signed_sum += int8_t(header[i]);
  }
  return *stored == unsigned_sum || *stored == signed_sum;
}

bool is_zero_block(const uint8_t* block) {
  for (size_t i = 0; i < kBlock; ++i)
    if (block[i]) return false;
  return true;
}

std::string_view field_string(std::string_view field) { return field.substr(0, field.find('\0')); }

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

std::optional<Timestamp> parse_pax_time(std::string_view text) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  const size_t dot = text.find('.');
  const auto seconds = parse_decimal(text.substr(0, dot));
  if (!seconds || *seconds > uint64_t(INT64_MAX) - 1) return std::nullopt;
  uint32_t ns = 0;
  if (dot != std::string_view::npos) {
    std::string_view frac = text.substr(dot + 1);
    uint32_t scale = 100000000;
    for (char c : frac) {
      if (c < '0' || c > '9') return std::nullopt;
      ns += uint32_t(c - '0') * scale;  // digits beyond nanoseconds are dropped
      scale /= 10;
    }
  }
  if (!negative) return Timestamp{int64_t(*seconds), ns};
  // -(S + F) = (-S - 1) + (1 - F)
  if (ns == 0) return Timestamp{-int64_t(*seconds), 0};
  return Timestamp{-int64_t(*seconds) - 1, 1000000000 - ns};
}

bool pax_time_ambiguous(std::string_view text) {
  const auto t = parse_pax_time(text);
  return t && t->sec < 0 && t->nsec != 0;
}

std::string schily_xattr_name(std::string_view keyword) {
  std::string out;
  for (size_t i = 0; i < keyword.size(); ++i) {
    const std::string_view rest = keyword.substr(i);
    if (rest.rfind("%3D", 0) == 0 || rest.rfind("%25", 0) == 0) {
      out += rest[1] == '3' ? '=' : '%';
      i += 2;
    } else {
      out += keyword[i];
    }
  }
  return out;
}

std::optional<std::string> url_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += char(hi << 4 | lo);
    i += 2;
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else return std::nullopt;
    bits = bits << 6 | uint32_t(v);
    if (++count == 4) {
      out += char(bits >> 16);
      out += char(bits >> 8);
      out += char(bits);
      bits = 0;
      count = 0;
    }
  }
  if (count == 1) return std::nullopt;
  if (count == 2) out += char(bits >> 4);
  if (count == 3) {
    out += char(bits >> 10);
    out += char(bits >> 2);
  }
  return out;
}

}  // namespace vdiskfs::tar
