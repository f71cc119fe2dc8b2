#pragma once
// The master boot record (UEFI spec 2.10, section 5.2.1, tables 5-1 and
// 5-2): the first sector of a disk. Its four partition records describe an
// MBR-partitioned disk; on a GPT disk the protective MBR (section 5.2.3,
// tables 5-3 and 5-4) has one record of type 0xEE over the whole disk, so
// that tools that know only MBR see it as in use.
#include <cstddef>
#include <cstdint>

#include "core/image/on_disk.h"

namespace vdiskfs {

// One of the MBR's four partition records (table 5-2). CHS addresses are
// three bytes: head, sector (bits 0-5) with cylinder bits 8-9, cylinder.
struct MbrPartitionRecord {
  uint8_t boot_indicator;   // 0x00 0x80: bootable (legacy BIOS), else 0x00
  uint8_t starting_chs[3];  // 0x01
  uint8_t os_type;          // 0x04 partition type (0xEE: GPT protective)
  uint8_t ending_chs[3];    // 0x05
  le32 starting_lba;        // 0x08
  le32 size_in_lba;         // 0x0C sectors
};
static_assert(sizeof(MbrPartitionRecord) == 16);
static_assert(offsetof(MbrPartitionRecord, boot_indicator) == 0x00);
static_assert(offsetof(MbrPartitionRecord, starting_chs) == 0x01);
static_assert(offsetof(MbrPartitionRecord, os_type) == 0x04);
static_assert(offsetof(MbrPartitionRecord, ending_chs) == 0x05);
static_assert(offsetof(MbrPartitionRecord, starting_lba) == 0x08);
static_assert(offsetof(MbrPartitionRecord, size_in_lba) == 0x0C);

// The MBR sector (tables 5-1 and 5-3).
struct MasterBootRecord {
  uint8_t boot_code[440];                 // 0x000 (unused on a GPT disk)
  le32 unique_mbr_disk_signature;         // 0x1B8 (0 on a GPT disk)
  le16 unknown;                           // 0x1BC
  MbrPartitionRecord partition_record[4]; // 0x1BE
  le16 signature;                         // 0x1FE kMbrSignature
};
static_assert(sizeof(MasterBootRecord) == 512);
static_assert(offsetof(MasterBootRecord, boot_code) == 0x000);
static_assert(offsetof(MasterBootRecord, unique_mbr_disk_signature) == 0x1B8);
static_assert(offsetof(MasterBootRecord, unknown) == 0x1BC);
static_assert(offsetof(MasterBootRecord, partition_record) == 0x1BE);
static_assert(offsetof(MasterBootRecord, signature) == 0x1FE);

// MasterBootRecord::signature: bytes 0x55 0xAA.
inline constexpr uint16_t kMbrSignature = 0xAA55;
// MbrPartitionRecord::os_type of the protective MBR's record.
inline constexpr uint8_t kMbrTypeGptProtective = 0xEE;

}  // namespace vdiskfs
