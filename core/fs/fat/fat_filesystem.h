#pragma once
// FAT32's row of the filesystem table (core/fs/filesystem.h): an adapter
// from the generic volume options to fat::build_fat_volume and back to the
// generic Volume.
#include <cstddef>
#include <string>
#include <string_view>

#include "core/fs/filesystem.h"
#include "core/image/identity.h"
#include "core/source/source.h"

namespace vdiskfs::fat {

// BS_VolLab holds 11 bytes.
inline constexpr size_t kMaxLabelBytes = 11;

// Parses a FAT volume serial as blkid and fstab write it ("5A1B-2C3D",
// or eight hex digits) into the first 4 bytes of `out` (big-endian; the
// rest zero). False when `text` is not one.
bool parse_volume_id(std::string_view text, Uuid& out);

// FAT32's layout text for the disk's identity: "fat32;id=<serial or
// derived>;label=...;free=...;min_free=...;first_sector=...;cluster=<bytes,
// 0 = table>;times=utc|local:<zone>;skip_unsupported=0|1". Throws Error when the label is longer than 11 bytes.
std::string volume_layout(const VolumeOptions& options);

// Builds the FAT32 volume; its serial (unless given) derives from
// `identity`. Entries left out (skip_unsupported) and times FAT cannot hold
// are logged as warnings. Facts: fat_cluster_bytes, fat_clusters,
// fat_free_clusters, fat_sectors_per_fat, extent_map_entries.
Volume make_volume(const Source& source, const VolumeOptions& options, const Identity& identity);

}  // namespace vdiskfs::fat
