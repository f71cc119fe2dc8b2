#include "core/disk/disk_builder.h"

#include <fmt/core.h>

#include <time.h>

#include <algorithm>

#include "core/image/error.h"
#include "core/source/tree_identity.h"
#include "core/partition/gpt.h"
#include "core/image/mapped_image.h"

namespace vdiskfs {

int64_t newest_past_time(const Tree& tree) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const Timestamp now_ts{int64_t(now.tv_sec), uint32_t(now.tv_nsec)};
  Timestamp newest;
  for (const Node& n : tree.nodes)
    for (const Timestamp& t : {n.mtime, n.ctime})
      if (t <= now_ts) newest = std::max(newest, t);
  return int64_t(newest.wrapped_ns());  // 1970 .. now: a plain nanosecond count
}

std::vector<std::pair<std::string, std::string>> disk_facts(const Disk& d, const Tree& tree) {
  auto num = [](uint64_t v) { return std::to_string(v); };
  return {
      {"entries", num(tree.dirents.size() + 1)},
      {"inodes_used", num(d.volume.inodes - d.volume.free_inodes)},  // as df -i counts them
      {"data_bytes", num(tree.data_bytes())},
      {"disk_bytes", num(d.image->size())},
      {"allocated_bytes", num(d.allocated_bytes)},
      {"partition_offset", num(d.partition_offset)},
      {"partition_bytes", num(d.partition_size)},
      {"filesystem", "ext4"},
      {"fs_uuid", uuid_to_string(d.fs_uuid)},
      {"identity", d.identity.hex()},
      {"ext4_blocks", num(d.volume.blocks)},
      {"ext4_free_blocks", num(d.volume.free_blocks)},
      {"ext4_inodes", num(d.volume.inodes)},
      {"ext4_free_inodes", num(d.volume.free_inodes)},
      {"extent_map_entries", num(d.volume.extents)},
      {"skeleton_bytes", num(d.volume.skeleton_bytes)},
  };
}

Disk build_disk(const Source& source, const DiskOptions& options) {
  if (options.label.size() > 16) fail("label '{}' is longer than ext4's 16 bytes", options.label);
  const Tree& tree = source.tree();
  // Everything that shapes the bytes of the disk goes into the identity.
  const std::string layout = fmt::format(
      "vdiskfs-layout-1;gpt;ext4;uuid={};label={};free={}{};min_free={}{}",
      options.fs_uuid ? uuid_to_string(*options.fs_uuid) : "derived", options.label,
      options.free_space.is_percent ? options.free_space.percent : double(options.free_space.bytes),
      options.free_space.is_percent ? "%" : "B", options.min_free_bytes, options.bios_boot ? ";bios_boot" : "");
  Disk disk;
  disk.identity = compute_identity(tree, layout);
  disk.layout = layout;
  disk.fs_uuid = options.fs_uuid ? *options.fs_uuid : disk.identity.derive("ext4-uuid");

  ext4::Options fs;
  fs.uuid = disk.fs_uuid;
  fs.label = options.label;
  fs.free_space = options.free_space;
  fs.min_free_bytes = options.min_free_bytes;
  fs.hash_seed = disk.identity.derive("ext4-hash-seed");
  fs.timestamp_ns = newest_past_time(tree);
  fs.strict = options.strict;
  auto volume = ext4::build_volume(source, fs, &disk.volume);

  GptPartitionSpec part{volume, kGptTypeLinuxFilesystem, disk.identity.derive("gpt-partition"),
                        options.label.empty() ? "vdiskfs" : options.label};
  std::vector<GptPartitionSpec> parts{part};
  if (options.bios_boot) {
    // All zeros until a bootloader writes it (through a delta).
    auto empty = std::make_shared<MappedImage>(kPartitionAlignment, ExtentMap{}, std::vector<uint8_t>{}, nullptr,
                                               std::vector<std::shared_ptr<const Image>>{});
    parts.push_back({empty, kGptTypeBiosBoot, disk.identity.derive("gpt-bios-boot"), "BIOS boot"});
  }
  std::vector<GptPartitionPlacement> placed;
  disk.image = build_gpt_disk(parts, disk.identity.derive("gpt-disk"), &placed);
  disk.partition_offset = placed[0].offset;
  disk.partition_size = placed[0].size;
  disk.allocated_bytes = (disk.volume.blocks - disk.volume.free_blocks) * 4096 +
                         (disk.image->size() - disk.partition_size);
  disk.timestamp_ns = fs.timestamp_ns;
  return disk;
}

}  // namespace vdiskfs
