#include "core/image/identity.h"

#include <fmt/core.h>
#include <xxhash.h>

#include <cstring>

namespace vdiskfs {

std::string Identity::hex() const { return fmt::format("{:016x}{:016x}", high, low); }

Uuid Identity::derive(std::string_view purpose) const {
  uint8_t seed[16];
  std::memcpy(seed, &high, 8);
  std::memcpy(seed + 8, &low, 8);
  XXH3_state_t* st = XXH3_createState();
  XXH3_128bits_reset(st);
  XXH3_128bits_update(st, seed, sizeof seed);
  XXH3_128bits_update(st, purpose.data(), purpose.size());
  const XXH128_hash_t h = XXH3_128bits_digest(st);
  XXH3_freeState(st);
  Uuid u;
  for (int i = 0; i < 8; ++i) {
    u[i] = uint8_t(h.high64 >> (56 - 8 * i));
    u[8 + i] = uint8_t(h.low64 >> (56 - 8 * i));
  }
  u[6] = uint8_t((u[6] & 0x0f) | 0x40);  // version 4
  u[8] = uint8_t((u[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return u;
}

std::string uuid_to_string(const Uuid& u) {
  std::string s;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += fmt::format("{:02x}", u[i]);
  }
  return s;
}

bool parse_hex_bytes(std::string_view hex, uint8_t* out, size_t bytes) {
  if (hex.size() != 2 * bytes) return false;
  for (size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return false;
    out[i / 2] = uint8_t(i % 2 ? out[i / 2] << 4 | d : d);
  }
  return true;
}

bool parse_uuid(std::string_view text, Uuid& out) {
  std::string hex;
  for (char c : text)
    if (c != '-') hex += c;
  return parse_hex_bytes(hex, out.data(), out.size());
}

}  // namespace vdiskfs
