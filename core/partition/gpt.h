#pragma once
// GPT partition table (UEFI spec, chapter 5): a protective MBR, the
// primary header and entry array at the start of the disk, the backup
// entry array and header at its end, all with their CRC32s. The disk is a
// MappedImage: table bytes from a skeleton, partitions from child Images.
#include <memory>
#include <string>
#include <vector>

#include "core/image/identity.h"
#include "core/image/image.h"

namespace vdiskfs {

inline constexpr uint64_t kSectorSize = 512;
inline constexpr uint64_t kPartitionAlignment = 1 << 20;  // 1 MiB

// GPT type GUIDs in their on-disk (mixed-endian) byte order.
extern const Uuid kGptTypeLinuxFilesystem;  // 0FC63DAF-8483-4772-8E79-3D69D8477DE4
extern const Uuid kGptTypeBiosBoot;         // 21686148-6449-6E6F-744E-656564454649

struct GptPartitionSpec {
  std::shared_ptr<const Image> content;  // size: a multiple of 512 bytes
  Uuid type;
  Uuid unique;       // big-endian RFC 4122 bytes; stored mixed-endian
  std::string name;  // up to 36 UTF-16 code units (ASCII here)
};

struct GptPartitionPlacement {
  uint64_t offset;  // bytes from the start of the disk
  uint64_t size;
};

// Lays the partitions out one after another, each aligned to 1 MiB, and
// returns the disk. `placements` receives where each partition went.
std::shared_ptr<const Image> build_gpt_disk(const std::vector<GptPartitionSpec>& partitions,
                                            const Uuid& disk_guid,
                                            std::vector<GptPartitionPlacement>* placements);

// Big-endian RFC 4122 bytes -> GPT's mixed-endian byte order.
Uuid gpt_guid_bytes(const Uuid& rfc4122);

}  // namespace vdiskfs
