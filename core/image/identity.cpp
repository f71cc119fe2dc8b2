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

bool parse_uuid(std::string_view text, Uuid& out) {
  std::string hex;
  for (char c : text)
    if (c != '-') hex += c;
  if (hex.size() != 32) return false;
  for (int i = 0; i < 16; ++i) {
    unsigned v = 0;
    for (int j = 0; j < 2; ++j) {
      const char c = hex[size_t(2 * i + j)];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f') v |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= unsigned(c - 'A' + 10);
      else return false;
    }
    out[size_t(i)] = uint8_t(v);
  }
  return true;
}

}  // namespace vdiskfs
