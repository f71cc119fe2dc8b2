#pragma once
// The MBR encoder of a placement (UEFI spec 2.10, section 5.2.1, and the
// PC convention for extended partitions that Linux, fdisk and Windows
// share): up to four primary partitions in the MBR, or three and an
// extended partition holding the rest as logical partitions, each after its
// EBR. The first partition starts at 1 MiB, so the gap after the MBR holds
// GRUB's core image on a BIOS-booted disk (no BIOS boot partition). The disk
// is a MappedImage: the MBR and EBRs from a skeleton, partitions from child
// Images.
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/image/identity.h"
#include "core/image/image.h"
#include "core/partition/mbr_format.h"
#include "core/partition/placement.h"

namespace vdiskfs {

// The records in the MBR.
inline constexpr size_t kMbrPrimarySlots = 4;
// Partitions an MBR disk of ours may hold, logical ones included (Linux
// reads up to 255 of them).
inline constexpr size_t kMbrMaxPartitions = 128;
// The largest disk an MBR describes: 2^32 sectors (2 TiB), as its LBA
// fields are 32 bits.
inline constexpr uint64_t kMbrMaxDiskBytes = (uint64_t(1) << 32) * kSectorSize;

// What MBR keeps on the disk: the MBR sector at the start, nothing at the
// end, and one EBR sector before each logical partition (1 MiB of room).
inline constexpr TableFootprint kMbrFootprint{"MBR", sizeof(MasterBootRecord), 0, kMbrMaxPartitions,
                                              kMbrPrimarySlots, sizeof(ExtendedBootRecord)};

// The disk of `placement` (made with kMbrFootprint) under an MBR whose disk
// signature is the first four bytes of `disk_id` (little-endian, as
// sfdisk's label-id and blkid's PTUUID show it). Partition 1 is marked
// active. Throws Error for a disk beyond kMbrMaxDiskBytes, and for a role
// MBR has no type for (a BIOS boot partition).
std::shared_ptr<const Image> encode_mbr(const Placement& placement, const Uuid& disk_id);

}  // namespace vdiskfs
