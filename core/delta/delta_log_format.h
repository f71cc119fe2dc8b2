#pragma once
// The on-disk format of a delta log (see delta_log.h):
//
//   DeltaLogHeader (4096 bytes) | record | record | ...
//   record = DeltaRecordHeader (32 bytes), then a kDeltaPageSize payload
//            for a page record, nothing for a size record.
//
// All fields little-endian. Checksums are XXH3-64.
#include <cstddef>
#include <cstdint>

#include "core/delta/page_store.h"
#include "core/image/on_disk.h"

namespace vdiskfs {

inline constexpr uint8_t kDeltaLogMagic[8] = {'V', 'D', 'I', 'S', 'K', 'D', 'L', 'T'};
inline constexpr uint32_t kDeltaLogVersion = 1;
inline constexpr size_t kDeltaIdentityMax = 0xF00;  // bytes of DeltaLogHeader::identity

// The first 4096 bytes of a delta log: what the delta was written against.
struct DeltaLogHeader {
  uint8_t magic[8];                     // 0x000 kDeltaLogMagic
  le32 version;                         // 0x008 kDeltaLogVersion
  le32 page_size;                       // 0x00C bytes: kDeltaPageSize
  le64 base_size;                       // 0x010 bytes of the base file
  le64 created_ns;                      // 0x018 creation time, ns since 1970 (UTC)
  le32 identity_len;                    // 0x020 bytes used of identity
  uint8_t identity[kDeltaIdentityMax];  // 0x024 "<disk identity>|<file>|<base size>"
  uint8_t reserved[0xD4];               // 0xF24 zero
  le64 checksum;                        // 0xFF8 XXH3-64 of the bytes before it
};
static_assert(sizeof(DeltaLogHeader) == 4096);
static_assert(offsetof(DeltaLogHeader, magic) == 0x000);
static_assert(offsetof(DeltaLogHeader, version) == 0x008);
static_assert(offsetof(DeltaLogHeader, page_size) == 0x00C);
static_assert(offsetof(DeltaLogHeader, base_size) == 0x010);
static_assert(offsetof(DeltaLogHeader, created_ns) == 0x018);
static_assert(offsetof(DeltaLogHeader, identity_len) == 0x020);
static_assert(offsetof(DeltaLogHeader, identity) == 0x024);
static_assert(offsetof(DeltaLogHeader, reserved) == 0xF24);
static_assert(offsetof(DeltaLogHeader, checksum) == 0xFF8);

inline constexpr uint32_t kDeltaRecordMagic = 0x52544c44;  // "DLTR"
// DeltaRecordHeader::type values.
inline constexpr uint32_t kDeltaRecordPage = 1;  // a = page number, b = 0; a payload follows
inline constexpr uint32_t kDeltaRecordSize = 2;  // a = logical size, b = base limit (DeltaSize)

// The header of each record. A record counts only when its checksum holds.
struct DeltaRecordHeader {
  le32 magic;     // 0x00 kDeltaRecordMagic
  le32 type;      // 0x04 kDeltaRecordPage or kDeltaRecordSize
  le64 a;         // 0x08 see the type
  le64 b;         // 0x10 see the type
  le64 checksum;  // 0x18 XXH3-64 of the bytes before it, then of the payload
};
static_assert(sizeof(DeltaRecordHeader) == 32);
static_assert(offsetof(DeltaRecordHeader, magic) == 0x00);
static_assert(offsetof(DeltaRecordHeader, type) == 0x04);
static_assert(offsetof(DeltaRecordHeader, a) == 0x08);
static_assert(offsetof(DeltaRecordHeader, b) == 0x10);
static_assert(offsetof(DeltaRecordHeader, checksum) == 0x18);

}  // namespace vdiskfs
