#pragma once
// Fields of on-disk structures in a fixed byte order, whatever the host's.
//
// Each field is an array of bytes (alignment 1, no padding), so a struct of
// them, declared in specification order, has exactly the layout the
// specification draws: `sizeof` and `offsetof` can be checked against it
// with static_assert, and the struct is copied to and from disk bytes with
// store() and load(). Example:
//
//   struct GptHeader {
//     uint8_t signature[8];  // 0x00 "EFI PART"
//     le32 revision;         // 0x08
//     ...
//   };
//   static_assert(sizeof(GptHeader) == 92);
//   static_assert(offsetof(GptHeader, revision) == 0x08);
//
//   GptHeader h{};  h.revision = 0x00010000;  store(buf, h);
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace vdiskfs {

// An unsigned integer of N bytes, little-endian (big = false) or big-endian.
template <size_t N, bool big>
struct OnDiskUint {
  using value_type = std::conditional_t<N == 1, uint8_t,
                     std::conditional_t<N == 2, uint16_t, std::conditional_t<N == 4, uint32_t, uint64_t>>>;
  uint8_t bytes[N];

  constexpr value_type get() const {
    uint64_t v = 0;
    for (size_t i = 0; i < N; ++i) v |= uint64_t(bytes[big ? N - 1 - i : i]) << (8 * i);
    return value_type(v);
  }
  constexpr void set(uint64_t v) {
    for (size_t i = 0; i < N; ++i) bytes[big ? N - 1 - i : i] = uint8_t(v >> (8 * i));
  }
  constexpr OnDiskUint& operator=(value_type v) {
    set(v);
    return *this;
  }
  constexpr operator value_type() const { return get(); }
};

using le16 = OnDiskUint<2, false>;
using le32 = OnDiskUint<4, false>;
using le64 = OnDiskUint<8, false>;
using be16 = OnDiskUint<2, true>;
using be32 = OnDiskUint<4, true>;
using be64 = OnDiskUint<8, true>;
static_assert(sizeof(le16) == 2 && alignof(le16) == 1 && sizeof(be64) == 8 && alignof(be64) == 1);
static_assert(std::is_standard_layout_v<le32> && std::is_trivially_copyable_v<le32>);

// Copies the on-disk struct `s` to the bytes at `p` (sizeof(T) of them).
template <typename T>
void store(uint8_t* p, const T& s) {
  static_assert(std::is_trivially_copyable_v<T> && alignof(T) == 1, "an on-disk struct of byte fields");
  std::memcpy(p, &s, sizeof(T));
}

// The on-disk struct T read from the bytes at `p` (sizeof(T) of them).
template <typename T>
T load(const uint8_t* p) {
  static_assert(std::is_trivially_copyable_v<T> && alignof(T) == 1, "an on-disk struct of byte fields");
  T s;
  std::memcpy(&s, p, sizeof(T));
  return s;
}

}  // namespace vdiskfs
