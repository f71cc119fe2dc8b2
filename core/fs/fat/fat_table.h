#pragma once
// The file allocation table, computed on each read from the list of
// contiguous cluster runs instead of being stored: a FAT is 4 bytes per
// cluster (hundreds of MiB on a large volume) but every file and
// directory here is one run, so the runs say all of it. The one image
// serves both FAT copies.
#include <cstdint>
#include <vector>

#include "core/image/image.h"

namespace vdiskfs::fat {

// Clusters [first, first + count) chained in order: one file or directory.
struct ClusterRun {
  uint32_t first;
  uint32_t count;
};

class FatTableImage final : public Image {
 public:
  // `runs` sorted by `first`, disjoint, inside clusters 2 .. 2 + clusters;
  // the table is `fat_sectors` sectors long.
  FatTableImage(std::vector<ClusterRun> runs, uint32_t fat_sectors);

  uint64_t size() const override { return size_; }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override;
  // Entries up to the last used cluster; the rest (free) is zeros.
  void data_ranges(std::vector<ByteRange>& out) const override;

  // The FAT entry of `cluster`: the next cluster of its run, end of chain
  // on a run's last cluster, free outside every run; FAT[0] and FAT[1]
  // are the media and clean-shutdown entries.
  uint32_t entry(uint32_t cluster) const;

 private:
  std::vector<ClusterRun> runs_;
  uint64_t size_;
};

}  // namespace vdiskfs::fat
