#pragma once
// A disk's identity: a 128-bit hash of its layout options and of the source
// manifest (paths, sizes, times, modes, owners, link targets). UUIDs and
// other ids of the disk derive from it, so they are stable across remounts
// of the same source and differ between sources.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace vdiskfs {

using Uuid = std::array<uint8_t, 16>;

struct Identity {
  uint64_t high = 0, low = 0;

  std::string hex() const;
  // 16 bytes for one purpose ("ext4-uuid", "gpt-disk"), shaped as an RFC 4122
  // version-4 UUID in big-endian byte order.
  Uuid derive(std::string_view purpose) const;
};

// "01234567-89ab-..." <-> bytes (big-endian, as in ext4's s_uuid).
std::string uuid_to_string(const Uuid& u);
bool parse_uuid(std::string_view text, Uuid& out);
// Parses exactly 2 * `bytes` hex digits (either case) into `bytes` bytes at
// `out`, first digit highest; false on any other text.
bool parse_hex_bytes(std::string_view hex, uint8_t* out, size_t bytes);

}  // namespace vdiskfs
