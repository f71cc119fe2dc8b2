#include "core/disk/disk_builder.h"

#include <fmt/core.h>

#include <time.h>

#include <algorithm>

#include "core/image/mapped_image.h"
#include "core/partition/partition_table.h"
#include "core/partition/placement.h"
#include "core/source/tree_identity.h"

namespace vdiskfs {
namespace {

// The BIOS boot partition's size: room for GRUB's core image.
constexpr uint64_t kBiosBootBytes = 1 << 20;

VolumeOptions volume_options(const DiskOptions& options, const Tree& tree) {
  VolumeOptions v;
  v.uuid = options.fs_uuid;
  v.label = options.label;
  v.free_space = options.free_space;
  v.min_free_bytes = options.min_free_bytes;
  v.timestamp_ns = newest_past_time(tree);
  v.strict = options.strict;
  v.skip_unsupported = options.skip_unsupported;
  v.local_time = options.local_time;
  v.cluster_bytes = options.cluster_bytes;
  v.first_sector = kPartitionAlignment / kSectorSize;  // the first partition's start
  return v;
}

// The partition role of a volume of filesystem `type` (blkid's TYPE).
PartitionRole role_of(std::string_view type) {
  return type == "vfat" ? PartitionRole::microsoft_basic_data : PartitionRole::linux_filesystem;
}

// The BIOS boot partition: all zeros until a bootloader writes it (through a delta).
std::shared_ptr<const Image> empty_bios_boot() {
  return std::make_shared<MappedImage>(kBiosBootBytes, ExtentMap{}, std::vector<uint8_t>{}, nullptr,
                                       std::vector<std::shared_ptr<const Image>>{});
}

}  // namespace

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
  std::vector<std::pair<std::string, std::string>> facts = {
      {"entries", num(tree.dirents.size() + 1)},
      {"inodes_used", num(d.volume.inodes - d.volume.free_inodes)},  // as df -i counts them
      {"data_bytes", num(tree.data_bytes())},
      {"disk_bytes", num(d.image->size())},
      {"allocated_bytes", num(d.allocated_bytes)},
      {"partition_offset", num(d.partition_offset)},
      {"partition_bytes", num(d.partition_size)},
      {"filesystem", d.volume.type},
      {"fs_uuid", d.volume.uuid_text},
      {"identity", d.identity.hex()},
  };
  facts.insert(facts.end(), d.volume.facts.begin(), d.volume.facts.end());
  return facts;
}

Disk build_disk(const Source& source, const DiskOptions& options) {
  const Filesystem& filesystem = filesystem_named(options.filesystem);
  const PartitionTable& table = partition_table_named(options.table);
  const Tree& tree = source.tree();
  const VolumeOptions volume = volume_options(options, tree);
  // Everything that shapes the bytes of the disk goes into the identity.
  const std::string layout =
      fmt::format("vdiskfs-layout-1;{};{}{}", table.name, filesystem.layout(volume), options.bios_boot ? ";bios_boot" : "");
  Disk disk;
  disk.identity = compute_identity(tree, layout);
  disk.layout = layout;
  disk.volume = filesystem.build(source, volume, disk.identity);
  disk.fs_uuid = disk.volume.uuid;

  std::vector<PartitionSpec> partitions{{disk.volume.image, role_of(disk.volume.type),
                                         disk.identity.derive("gpt-partition"),
                                         options.label.empty() ? "vdiskfs" : options.label}};
  if (options.bios_boot)
    partitions.push_back({empty_bios_boot(), PartitionRole::bios_boot, disk.identity.derive("gpt-bios-boot"), "BIOS boot"});
  const Placement placement = place_partitions(std::move(partitions), *table.footprint);
  disk.image = table.encode(placement, disk.identity.derive("gpt-disk"));
  disk.partition_offset = placement.partitions[0].offset;
  disk.partition_size = placement.partitions[0].size;
  disk.allocated_bytes = (disk.volume.blocks - disk.volume.free_blocks) * disk.volume.block_size +
                         (disk.image->size() - disk.partition_size);
  disk.timestamp_ns = volume.timestamp_ns;
  return disk;
}

}  // namespace vdiskfs
