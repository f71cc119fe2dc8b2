#pragma once
// The master boot record (UEFI spec 2.10, section 5.2.1, tables 5-1 and
// 5-2): the first sector of a disk. Its four partition records describe an
// MBR-partitioned disk; on a GPT disk the protective MBR (section 5.2.3,
// tables 5-3 and 5-4) has one record of type 0xEE over the whole disk, so
// that tools that know only MBR see it as in use. Partitions beyond the
// four records live in an extended partition, as a chain of extended boot
// records (EBRs), one before each logical partition.
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

// An extended boot record: the first sector of each logical partition's
// room inside the extended partition, laid out as an MBR whose first record
// describes that logical partition and whose second links to the next EBR
// (as Linux's msdos partition parser, fdisk and Windows read them).
struct ExtendedBootRecord {
  uint8_t unused[446];              // 0x000 zero
  MbrPartitionRecord logical;       // 0x1BE the logical partition; starting_lba relative to this EBR
  MbrPartitionRecord next;          // 0x1CE the next EBR (kMbrTypeExtendedLink), starting_lba relative
                                    //       to the extended partition, size up to its logical's end;
                                    //       all zero on the last EBR
  MbrPartitionRecord unused_records[2];  // 0x1DE zero
  le16 signature;                   // 0x1FE kMbrSignature
};
static_assert(sizeof(ExtendedBootRecord) == 512);
static_assert(offsetof(ExtendedBootRecord, unused) == 0x000);
static_assert(offsetof(ExtendedBootRecord, logical) == 0x1BE);
static_assert(offsetof(ExtendedBootRecord, next) == 0x1CE);
static_assert(offsetof(ExtendedBootRecord, unused_records) == 0x1DE);
static_assert(offsetof(ExtendedBootRecord, signature) == 0x1FE);

// MasterBootRecord::signature and ExtendedBootRecord::signature: bytes 0x55 0xAA.
inline constexpr uint16_t kMbrSignature = 0xAA55;
// MbrPartitionRecord::os_type of the protective MBR's record.
inline constexpr uint8_t kMbrTypeGptProtective = 0xEE;
// MbrPartitionRecord::os_type of the extended partition in the MBR (LBA addressed).
inline constexpr uint8_t kMbrTypeExtendedLba = 0x0F;
// MbrPartitionRecord::os_type of an EBR's link to the next EBR, as fdisk writes it.
inline constexpr uint8_t kMbrTypeExtendedLink = 0x05;
// MbrPartitionRecord::boot_indicator of the active partition.
inline constexpr uint8_t kMbrBootable = 0x80;

}  // namespace vdiskfs
