#pragma once
// Builds an ext4 volume from a source's tree: the public entry of core/ext4.
#include <memory>

#include "core/fs/ext4/ext4_plan.h"
#include "core/image/image.h"
#include "core/source/source.h"

namespace vdiskfs::ext4 {

struct VolumeInfo {
  uint64_t blocks = 0;
  uint64_t free_blocks = 0;
  uint64_t inodes = 0;
  uint64_t free_inodes = 0;
  uint64_t data_blocks = 0;
  size_t extents = 0;         // entries in the extent map
  size_t skeleton_bytes = 0;  // stored metadata bytes
};

// The volume reads file data from `source`, which must outlive it.
std::shared_ptr<const Image> build_volume(const Source& source, const Options& options,
                                          VolumeInfo* info);

}  // namespace vdiskfs::ext4
