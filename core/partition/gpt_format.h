#pragma once
// The GPT header and partition entry (UEFI spec 2.10, section 5.3, tables
// 5-5 and 5-6). GUIDs are stored mixed-endian: the first three fields
// little-endian, the rest as is (gpt_guid_bytes in gpt.h).
#include <cstddef>
#include <cstdint>

#include "core/image/identity.h"
#include "core/image/on_disk.h"

namespace vdiskfs {

// The GPT header (table 5-5); the rest of its sector is zero.
struct GptHeader {
  uint8_t signature[8];             // 0x00 kGptSignature
  le32 revision;                    // 0x08 kGptRevision
  le32 header_size;                 // 0x0C bytes: sizeof(GptHeader)
  le32 header_crc32;                // 0x10 CRC32 of header_size bytes, this field zero
  le32 reserved;                    // 0x14 zero
  le64 my_lba;                      // 0x18 the LBA of this header
  le64 alternate_lba;               // 0x20 the LBA of the other header
  le64 first_usable_lba;            // 0x28
  le64 last_usable_lba;             // 0x30
  Uuid disk_guid;                   // 0x38 mixed-endian
  le64 partition_entry_lba;         // 0x48 the first LBA of this header's entry array
  le32 number_of_partition_entries; // 0x50
  le32 size_of_partition_entry;     // 0x54 bytes: sizeof(GptPartitionEntry)
  le32 partition_entry_array_crc32; // 0x58 CRC32 of the whole entry array
};
static_assert(sizeof(GptHeader) == 92);
static_assert(offsetof(GptHeader, signature) == 0x00);
static_assert(offsetof(GptHeader, revision) == 0x08);
static_assert(offsetof(GptHeader, header_size) == 0x0C);
static_assert(offsetof(GptHeader, header_crc32) == 0x10);
static_assert(offsetof(GptHeader, reserved) == 0x14);
static_assert(offsetof(GptHeader, my_lba) == 0x18);
static_assert(offsetof(GptHeader, alternate_lba) == 0x20);
static_assert(offsetof(GptHeader, first_usable_lba) == 0x28);
static_assert(offsetof(GptHeader, last_usable_lba) == 0x30);
static_assert(offsetof(GptHeader, disk_guid) == 0x38);
static_assert(offsetof(GptHeader, partition_entry_lba) == 0x48);
static_assert(offsetof(GptHeader, number_of_partition_entries) == 0x50);
static_assert(offsetof(GptHeader, size_of_partition_entry) == 0x54);
static_assert(offsetof(GptHeader, partition_entry_array_crc32) == 0x58);

// One entry of the partition entry array (table 5-6); all zeros: unused.
struct GptPartitionEntry {
  Uuid partition_type_guid;    // 0x00 mixed-endian
  Uuid unique_partition_guid;  // 0x10 mixed-endian
  le64 starting_lba;           // 0x20
  le64 ending_lba;             // 0x28 inclusive
  le64 attributes;             // 0x30
  le16 partition_name[36];     // 0x38 UTF-16LE, zero-padded
};
static_assert(sizeof(GptPartitionEntry) == 128);
static_assert(offsetof(GptPartitionEntry, partition_type_guid) == 0x00);
static_assert(offsetof(GptPartitionEntry, unique_partition_guid) == 0x10);
static_assert(offsetof(GptPartitionEntry, starting_lba) == 0x20);
static_assert(offsetof(GptPartitionEntry, ending_lba) == 0x28);
static_assert(offsetof(GptPartitionEntry, attributes) == 0x30);
static_assert(offsetof(GptPartitionEntry, partition_name) == 0x38);

// GptHeader::signature.
inline constexpr char kGptSignature[8] = {'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T'};
// GptHeader::revision: 1.0.
inline constexpr uint32_t kGptRevision = 0x00010000;

}  // namespace vdiskfs
