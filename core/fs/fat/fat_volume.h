#pragma once
// Builds a FAT32 volume from a source's tree: the public entry of
// core/fs/fat. Metadata (boot sectors, FATs, directories) is generated;
// file data is read from the source on demand, never copied.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/fs/fat/fat_options.h"
#include "core/image/image.h"
#include "core/source/source.h"

namespace vdiskfs::fat {

// What a built volume reports about itself.
struct FatVolumeInfo {
  uint64_t total_sectors = 0;   // of 512 bytes: the volume's size
  uint32_t cluster_bytes = 0;
  uint32_t fat_sectors = 0;     // of one FAT
  uint64_t clusters = 0;        // data clusters in all
  uint64_t used_clusters = 0;   // taken by directories and files
  uint64_t free_clusters = 0;   // as FSInfo says
  uint32_t directories = 0;     // the root included
  uint32_t files = 0;           // regular files (a hard link counts once per name)
  // "path: reason" of each entry that FAT cannot hold and that
  // skip_unsupported left out, for the caller to warn about.
  std::vector<std::string> skipped;
  // "path: ..." of each time outside 1980..2107 stored as the nearest
  // FAT can hold, for the caller to warn about.
  std::vector<std::string> clamped_times;
  size_t extents = 0;           // entries in the volume's extent map
};

// The FAT32 volume of `source`'s tree, which reads file data from `source`
// (it must outlive the volume). Throws Error listing every entry FAT
// cannot hold (files of 4 GiB or more, names FAT forbids or cannot tell
// apart, symlinks, devices, fifos, sockets) unless
// options.skip_unsupported; also for a label or cluster size FAT cannot
// take and for a volume over FAT32's 2 TiB. `info` may be null.
std::shared_ptr<const Image> build_fat_volume(const Source& source, const FatOptions& options,
                                              FatVolumeInfo* info);

}  // namespace vdiskfs::fat
