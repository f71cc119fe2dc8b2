#pragma once
// The reserved sectors' contents: the boot sector with the BPB and the
// FSInfo sector (each also as its backup at sectors 6 and 7).
#include <cstdint>

#include "core/fs/fat/fat_geometry.h"
#include "core/fs/fat/fat_names.h"
#include "core/fs/fat/fat_options.h"

namespace vdiskfs::fat {

// Writes the 512-byte boot sector of a volume of geometry `geo` to `out`.
// Its boot code only hands the machine back to the firmware (INT 18h):
// the volume is not a boot disk of its own.
void write_boot_sector(const Geometry& geo, const FatOptions& options, const ShortName& label, uint8_t* out);

// Writes the 512-byte FSInfo sector to `out`: `free_clusters` free, the
// first free one at `next_free` (kFsInfoUnknown when none is free).
void write_fs_info(uint32_t free_clusters, uint32_t next_free, uint8_t* out);

}  // namespace vdiskfs::fat
