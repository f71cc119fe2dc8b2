#pragma once
// What shapes a synthesized FAT32 volume.
#include <cstdint>
#include <string>

#include "core/image/size_parse.h"

namespace vdiskfs::fat {

struct FatOptions {
  uint32_t volume_id = 0;  // BS_VolID, the volume serial ("5A1B-2C3D" in fstab is 0x5A1B2C3D)
  std::string label;       // at most 11 bytes; stored upper-cased; "" = "NO NAME"
  // Bytes per cluster: 512 .. 32768, a power of two; 0 = from the volume
  // size by the specification's FAT32 table.
  uint32_t cluster_bytes = 0;
  uint32_t hidden_sectors = 0;  // BPB_HiddSec: the partition's first LBA on its disk
  SizeSpec free_space{0, 20, true};        // room left for writes: bytes, or a percentage of the used clusters
  uint64_t min_free_bytes = 256ull << 20;  // at least this much room for writes, bytes
  bool local_time = false;  // entry times in the process's local time zone (as DOS and Windows) instead of UTC
  // Entries FAT cannot hold are left out and listed in
  // FatVolumeInfo::skipped, instead of failing the build.
  bool skip_unsupported = false;
  int64_t timestamp_ns = 0;  // the volume label entry's time, nanoseconds since 1970
};

}  // namespace vdiskfs::fat
