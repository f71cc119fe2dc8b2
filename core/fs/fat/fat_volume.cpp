#include "core/fs/fat/fat_volume.h"

#include <fmt/core.h>

#include "core/fs/fat/fat_boot.h"
#include "core/fs/fat/fat_directory.h"
#include "core/fs/fat/fat_format.h"
#include "core/fs/fat/fat_plan.h"
#include "core/fs/fat/fat_table.h"
#include "core/image/error.h"
#include "core/image/mapped_image.h"

namespace vdiskfs::fat {
namespace {

enum VolumeChild : uint32_t { kChildFat, kChildDirectories, kChildCount };

void fail_unsupported(const Plan& plan, const Source& source) {
  const size_t n = plan.unsupported.size();
  std::string list;
  for (const std::string& line : plan.unsupported) list += "\n  " + line;
  fail("FAT32 cannot hold {} entr{} of {} (--skip-unsupported leaves {} out):{}", n, n == 1 ? "y" : "ies",
       source.describe(), n == 1 ? "it" : "them", list);
}

// The boot sector and FSInfo, each mapped twice: at sectors 0-1 and as
// the backup at sectors 6-7.
void map_reserved_sectors(const Plan& plan, ExtentMap& map, std::vector<uint8_t>& skeleton) {
  skeleton.assign(2 * kSectorBytes, 0);
  write_boot_sector(plan.geo, plan.options, plan.label, skeleton.data());
  const uint64_t free = plan.geo.clusters - plan.used_clusters;
  const uint32_t next_free = free ? uint32_t(kRootCluster + plan.used_clusters) : kFsInfoUnknown;
  write_fs_info(uint32_t(free), next_free, skeleton.data() + kSectorBytes);
  map.add({0, 2 * kSectorBytes, 0, 0, ExtentKind::skeleton});
  map.add({kBackupBootSector * kSectorBytes, 2 * kSectorBytes, 0, 0, ExtentKind::skeleton});
}

// Each file's data segments at its clusters; holes and cluster tails stay
// unmapped and read as zeros.
void map_files(const Plan& plan, ExtentMap& map) {
  std::vector<DataSegment> segments;
  map.reserve(map.size() + plan.runs.size());
  for (const FatEntry& e : plan.entries) {
    if (e.first_cluster == 0) continue;
    const uint32_t node = plan.tree.dirents[e.dirent].node;
    if (!plan.tree.nodes[node].is_regular()) continue;
    plan.tree.data_segments(node, segments);
    const uint64_t at = plan.geo.cluster_offset(e.first_cluster);
    for (const DataSegment& s : segments) map.add({at + s.offset, s.length, s.offset, node, ExtentKind::source});
  }
}

void fill_info(const Plan& plan, const ExtentMap& map, FatVolumeInfo* info) {
  info->total_sectors = plan.geo.total_sectors;
  info->cluster_bytes = plan.geo.cluster_bytes();
  info->fat_sectors = plan.geo.fat_sectors;
  info->clusters = plan.geo.clusters;
  info->used_clusters = plan.used_clusters;
  info->free_clusters = plan.geo.clusters - plan.used_clusters;
  info->directories = uint32_t(plan.dirs.size());
  info->files = plan.files;
  info->skipped = plan.unsupported;
  info->clamped_times = plan.clamped_times;
  info->extents = map.size();
}

}  // namespace

std::shared_ptr<const Image> build_fat_volume(const Source& source, const FatOptions& options,
                                              FatVolumeInfo* info) {
  auto plan = std::make_shared<Plan>(source.tree(), options);
  plan_volume(*plan);
  if (!plan->unsupported.empty() && !options.skip_unsupported) fail_unsupported(*plan, source);
  const Geometry& geo = plan->geo;

  std::vector<std::shared_ptr<const Image>> children(kChildCount);
  children[kChildFat] = std::make_shared<FatTableImage>(plan->runs, geo.fat_sectors);
  children[kChildDirectories] = std::make_shared<DirectoryRegionImage>(plan);

  ExtentMap map;
  std::vector<uint8_t> skeleton;
  map_reserved_sectors(*plan, map, skeleton);
  const uint64_t fat_bytes = uint64_t(geo.fat_sectors) * kSectorBytes;
  for (uint32_t copy = 0; copy < kNumFats; ++copy)
    map.add({geo.fat_offset(copy), fat_bytes, 0, kChildFat, ExtentKind::image});
  map.add({geo.cluster_offset(kRootCluster), children[kChildDirectories]->size(), 0, kChildDirectories,
           ExtentKind::image});
  map_files(*plan, map);
  size_t bad = 0;
  if (!map.finish(&bad))
    fail("internal error: FAT32 layout has overlapping extents at {} and {}", map.extents()[bad - 1].start,
         map.extents()[bad].start);
  if (info) fill_info(*plan, map, info);
  return std::make_shared<MappedImage>(geo.size_bytes(), std::move(map), std::move(skeleton), &source,
                                       std::move(children));
}

}  // namespace vdiskfs::fat
