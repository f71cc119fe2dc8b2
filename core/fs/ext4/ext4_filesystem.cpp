#include "core/fs/ext4/ext4_filesystem.h"

#include <fmt/core.h>

#include "core/fs/ext4/ext4_volume.h"
#include "core/image/error.h"

namespace vdiskfs::ext4 {

std::string volume_layout(const VolumeOptions& options) {
  if (options.label.size() > kMaxLabelBytes)
    fail("label '{}' is longer than {}'s {} bytes", options.label, kFilesystemName, kMaxLabelBytes);
  const SizeSpec& free = options.free_space;
  return fmt::format("{};uuid={};label={};free={}{};min_free={}", kFilesystemName,
                     options.uuid ? uuid_to_string(*options.uuid) : "derived", options.label,
                     free.is_percent ? free.percent : double(free.bytes), free.is_percent ? "%" : "B",
                     options.min_free_bytes);
}

Volume make_volume(const Source& source, const VolumeOptions& options, const Identity& identity) {
  Options fs;
  fs.uuid = options.uuid ? *options.uuid : identity.derive("ext4-uuid");
  fs.label = options.label;
  fs.free_space = options.free_space;
  fs.min_free_bytes = options.min_free_bytes;
  fs.hash_seed = identity.derive("ext4-hash-seed");
  fs.timestamp_ns = options.timestamp_ns;
  fs.strict = options.strict;
  VolumeInfo info;
  Volume volume;
  volume.image = build_volume(source, fs, &info);
  volume.type = kFilesystemName;
  volume.uuid = fs.uuid;
  volume.uuid_text = uuid_to_string(fs.uuid);
  volume.label = fs.label;
  volume.block_size = kBlockSize;
  volume.blocks = info.blocks;
  volume.free_blocks = info.free_blocks;
  volume.inodes = info.inodes;
  volume.free_inodes = info.free_inodes;
  auto num = [](uint64_t v) { return std::to_string(v); };
  volume.facts = {
      {"ext4_blocks", num(info.blocks)},
      {"ext4_free_blocks", num(info.free_blocks)},
      {"ext4_inodes", num(info.inodes)},
      {"ext4_free_inodes", num(info.free_inodes)},
      {"extent_map_entries", num(info.extents)},
      {"skeleton_bytes", num(info.skeleton_bytes)},
  };
  return volume;
}

}  // namespace vdiskfs::ext4
