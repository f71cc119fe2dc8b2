#pragma once
// The shape of a FAT32 volume: cluster size, FAT size, total sectors and
// data clusters, in 512-byte sectors. Layout:
//   sector 0 boot sector | 1 FSInfo | 6 backup boot sector | 7 backup
//   FSInfo | (32 reserved sectors) | FAT 1 | FAT 2 | data: cluster 2 ...
// Each FAT is sized as the specification computes it and rounded up so
// that the data area starts on a 4 KiB and cluster boundary; the volume
// is a whole number of MiB.
#include <cstdint>
#include <functional>

#include "core/fs/fat/fat_format.h"
#include "core/fs/fat/fat_options.h"

namespace vdiskfs::fat {

struct Geometry {
  uint32_t sectors_per_cluster = 0;
  uint32_t fat_sectors = 0;    // of one FAT
  uint64_t total_sectors = 0;  // of the volume
  uint64_t clusters = 0;       // data clusters: numbers 2 .. clusters + 1

  uint32_t cluster_bytes() const { return sectors_per_cluster * kSectorBytes; }
  // Byte offset of FAT copy `copy` (0 or 1).
  uint64_t fat_offset(uint32_t copy) const {
    return (uint64_t(kReservedSectors) + uint64_t(copy) * fat_sectors) * kSectorBytes;
  }
  // Byte offset of data cluster `cluster` (2 and up).
  uint64_t cluster_offset(uint32_t cluster) const {
    return (uint64_t(kReservedSectors) + uint64_t(kNumFats) * fat_sectors +
            uint64_t(cluster - kRootCluster) * sectors_per_cluster) * kSectorBytes;
  }
  uint64_t size_bytes() const { return total_sectors * kSectorBytes; }
};

// BPB_SecPerClus for a volume of `total_sectors` by the specification's
// FAT32 table: 1 up to 260 MB, 8 up to 8 GB, 16 up to 16 GB, 32 up to
// 32 GB, 64 beyond.
uint32_t table_sectors_per_cluster(uint64_t total_sectors);

// The smallest volume with `sectors_per_cluster` that has at least
// `clusters` data clusters (and FAT32's minimum of 65,525).
Geometry geometry_for(uint32_t sectors_per_cluster, uint64_t clusters);

// The geometry of a volume whose content takes `used_clusters(cluster
// bytes)` clusters, with the free room the options ask for, and the
// cluster size they set or the table gives. Throws Error for a cluster
// size FAT32 cannot take and for a volume over FAT32's limits (2^32
// sectors, 268,435,445 clusters).
Geometry choose_geometry(const std::function<uint64_t(uint32_t cluster_bytes)>& used_clusters,
                         const FatOptions& options);

}  // namespace vdiskfs::fat
