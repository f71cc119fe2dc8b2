#include "core/fs/fat/fat_geometry.h"

#include <algorithm>

#include "core/image/arith.h"
#include "core/image/error.h"

namespace vdiskfs::fat {
namespace {

inline constexpr uint64_t kVolumeAlignSectors = 2048;  // 1 MiB
inline constexpr uint32_t kDataAlignSectors = 8;       // 4 KiB

// One row of the specification's DskTableFAT32: volumes up to `max_sectors`
// get `sectors_per_cluster`.
struct ClusterSizeRow {
  uint64_t max_sectors;
  uint32_t sectors_per_cluster;
};
inline constexpr ClusterSizeRow kFat32Table[] = {
    {532480, 1},       // 260 MB: 512 B clusters
    {16777216, 8},     // 8 GB: 4 KiB
    {33554432, 16},    // 16 GB: 8 KiB
    {67108864, 32},    // 32 GB: 16 KiB
    {0xFFFFFFFF, 64},  // beyond: 32 KiB
};

// BPB_FATSz32 as the specification computes it for a volume of
// `total_sectors` (an upper bound on what the clusters need).
uint64_t spec_fat_sectors(uint64_t total_sectors, uint32_t sectors_per_cluster) {
  const uint64_t tmp1 = total_sectors - kReservedSectors;
  const uint64_t tmp2 = (256ull * sectors_per_cluster + kNumFats) / 2;
  return div_up(tmp1, tmp2);
}

// The geometry of a volume of exactly `total_sectors`.
Geometry geometry_of_size(uint32_t sectors_per_cluster, uint64_t total_sectors) {
  Geometry g;
  g.sectors_per_cluster = sectors_per_cluster;
  g.total_sectors = total_sectors;
  uint64_t fat = spec_fat_sectors(total_sectors, sectors_per_cluster);
  const uint32_t align = std::max(sectors_per_cluster, kDataAlignSectors);
  while ((kReservedSectors + kNumFats * fat) % align != 0) ++fat;
  g.fat_sectors = uint32_t(std::min<uint64_t>(fat, UINT32_MAX));
  const uint64_t data_start = kReservedSectors + kNumFats * fat;
  g.clusters = total_sectors > data_start ? (total_sectors - data_start) / sectors_per_cluster : 0;
  return g;
}

void check_limits(const Geometry& g) {
  if (g.total_sectors > UINT32_MAX)
    fail("the FAT32 volume would need {} sectors of 512 bytes ({} GiB); FAT32 holds at most 2^32 - 1 (2 TiB)",
         g.total_sectors, g.size_bytes() >> 30);
  if (g.clusters > kMaxClusters)
    fail("the FAT32 volume would need {} clusters of {} bytes; FAT32 holds at most {}: choose larger clusters",
         g.clusters, g.cluster_bytes(), kMaxClusters);
}

uint64_t wanted_clusters(const std::function<uint64_t(uint32_t)>& used_clusters, const FatOptions& options,
                         uint32_t cluster_bytes) {
  const uint64_t used = used_clusters(cluster_bytes);
  const uint64_t free_bytes = std::max(options.free_space.resolve(used * cluster_bytes), options.min_free_bytes);
  return used + div_up(free_bytes, cluster_bytes);
}

}  // namespace

uint32_t table_sectors_per_cluster(uint64_t total_sectors) {
  for (const ClusterSizeRow& row : kFat32Table)
    if (total_sectors <= row.max_sectors) return row.sectors_per_cluster;
  return kFat32Table[std::size(kFat32Table) - 1].sectors_per_cluster;
}

Geometry geometry_for(uint32_t sectors_per_cluster, uint64_t clusters) {
  clusters = std::max<uint64_t>(clusters, kMinClusters);
  const uint64_t fat_estimate = div_up((clusters + 2) * kFatEntryBytes, kSectorBytes);
  uint64_t total = kReservedSectors + kNumFats * fat_estimate + clusters * sectors_per_cluster;
  total = align_up(std::max<uint64_t>(total, kMinTotalSectors), kVolumeAlignSectors);
  for (;;) {
    const Geometry g = geometry_of_size(sectors_per_cluster, total);
    if (g.clusters >= clusters) return g;
    total += kVolumeAlignSectors;
  }
}

Geometry choose_geometry(const std::function<uint64_t(uint32_t cluster_bytes)>& used_clusters,
                         const FatOptions& options) {
  if (options.cluster_bytes != 0) {
    const uint32_t cb = options.cluster_bytes;
    if (cb < kSectorBytes || cb > 32768 || (cb & (cb - 1)) != 0)
      fail("FAT32 cluster size {} bytes: it must be a power of two from 512 to 32768", cb);
    const uint32_t spc = cb / kSectorBytes;
    const Geometry g = geometry_for(spc, wanted_clusters(used_clusters, options, cb));
    check_limits(g);
    return g;
  }
  // The smallest cluster size whose volume falls in its row of the table.
  Geometry g;
  for (const ClusterSizeRow& row : kFat32Table) {
    const uint32_t cb = row.sectors_per_cluster * kSectorBytes;
    g = geometry_for(row.sectors_per_cluster, wanted_clusters(used_clusters, options, cb));
    if (g.total_sectors <= row.max_sectors) break;
  }
  check_limits(g);
  return g;
}

}  // namespace vdiskfs::fat
