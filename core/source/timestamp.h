#pragma once
// A point in time as seconds and nanoseconds since 1970-01-01 UTC. A
// 64-bit count of nanoseconds ends in 1677 and 2262; this holds every time
// ext4 can store (1901-12-13 .. 2446-05-10, with the epoch bits of its
// *_extra fields) and every time a tar archive can state.
#include <compare>
#include <cstdint>

namespace vdiskfs {

struct Timestamp {
  int64_t sec = 0;
  uint32_t nsec = 0;  // 0 .. 999999999

  // From a count of nanoseconds since the epoch (negative: before 1970).
  static constexpr Timestamp from_ns(int64_t ns) {
    int64_t s = ns / 1000000000, n = ns % 1000000000;
    if (n < 0) n += 1000000000, --s;
    return {s, uint32_t(n)};
  }
  // The nanosecond count modulo 2^64: the count itself wherever one exists
  // (1677 .. 2262). For hashes and manifests, never for arithmetic.
  constexpr uint64_t wrapped_ns() const { return uint64_t(sec) * 1000000000u + nsec; }
  constexpr bool is_zero() const { return sec == 0 && nsec == 0; }

  friend constexpr auto operator<=>(const Timestamp&, const Timestamp&) = default;
};

}  // namespace vdiskfs
