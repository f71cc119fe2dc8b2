#pragma once
// The GPT encoder of a placement (UEFI spec, chapter 5): a protective MBR,
// the primary header and entry array at the start of the disk, the backup
// entry array and header at its end, all with their CRC32s. The disk is a
// MappedImage: table bytes from a skeleton, partitions from child Images.
#include <cstdint>
#include <memory>

#include "core/image/identity.h"
#include "core/image/image.h"
#include "core/partition/gpt_format.h"
#include "core/partition/placement.h"

namespace vdiskfs {

// Entries in the arrays we write: 16 KiB, the least the spec allows.
inline constexpr uint32_t kGptEntryCount = 128;
// Sectors of one entry array (32).
inline constexpr uint64_t kGptEntryArraySectors = kGptEntryCount * sizeof(GptPartitionEntry) / kSectorSize;
// The LBA of the primary header, after the protective MBR at LBA 0.
inline constexpr uint64_t kGptPrimaryHeaderLba = 1;
// The LBA of the primary entry array, after the primary header.
inline constexpr uint64_t kGptPrimaryEntriesLba = kGptPrimaryHeaderLba + 1;

// What GPT keeps on the disk: the protective MBR, the primary header and
// entry array at the start (34 sectors); the backup entry array and header
// at the end (33 sectors).
inline constexpr TableFootprint kGptFootprint{
    "GPT", (kGptPrimaryEntriesLba + kGptEntryArraySectors) * kSectorSize,
    (kGptEntryArraySectors + 1) * kSectorSize, kGptEntryCount};

// The disk of `placement` (made with kGptFootprint) under a GPT whose disk
// GUID is `disk_guid` (big-endian RFC 4122 bytes).
std::shared_ptr<const Image> encode_gpt(const Placement& placement, const Uuid& disk_guid);

// Big-endian RFC 4122 bytes -> GPT's mixed-endian byte order (and back).
Uuid gpt_guid_bytes(const Uuid& rfc4122);

}  // namespace vdiskfs
