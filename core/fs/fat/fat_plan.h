#pragma once
// The layout of a synthesized FAT32 volume: which names of the tree it
// holds, each directory's entries, and where every directory and file
// lives. Built once in O(number of names); the directory region and the
// FAT are computed from it on each read (short names on a directory's
// first read).
//
// Data clusters: the root directory at cluster 2, every other directory
// after it (breadth first, in tree order), then every file in the same
// order, each one contiguous run; the rest is free. A hard-linked file is
// one independent file per name, each with clusters of its own that map
// to the same source bytes.
#include <cstdint>
#include <string>
#include <vector>

#include "core/fs/fat/fat_geometry.h"
#include "core/fs/fat/fat_names.h"
#include "core/fs/fat/fat_options.h"
#include "core/fs/fat/fat_table.h"
#include "core/source/tree.h"

namespace vdiskfs::fat {

// A name of the tree as an entry of its directory on the volume. Its
// short name is assigned when the directory is first read
// (DirectoryRegionImage): it changes no size or place.
struct FatEntry {
  uint32_t dirent = 0;         // the tree's dirent
  uint32_t first_cluster = 0;  // 0 for an empty file
  uint32_t first_slot = 0;     // its first 32-byte entry in the directory (long-name entries, then the short one)
};

// A directory on the volume.
struct FatDirectory {
  uint32_t node = 0;            // the tree's node
  uint32_t first_cluster = 0;
  uint32_t clusters = 0;
  uint32_t parent = 0;          // index in Plan::dirs of its parent (the root: 0)
  uint32_t entry = kNoIndex;    // index in Plan::entries of its name (the root: none)
  uint32_t entry_begin = 0;     // its entries: Plan::entries[entry_begin, + entry_count)
  uint32_t entry_count = 0;
  uint32_t slots = 0;           // 32-byte entries in all ("." and "..", the label, the names)

  bool is_root() const { return node == 0; }
  // The cluster ".." names: 0 when the parent is the root, as the specification says.
  uint32_t dotdot_cluster(const std::vector<FatDirectory>& dirs) const {
    return parent == 0 ? 0 : dirs[parent].first_cluster;
  }
  // Slots before the first name: "." and ".." (the root: the label entry, if any).
  uint32_t leading_slots(bool has_label) const { return is_root() ? uint32_t(has_label) : 2; }
};

struct Plan {
  Plan(const Tree& tree, const FatOptions& options) : tree(tree), options(options) {}

  const Tree& tree;
  FatOptions options;
  ShortName label{};       // BS_VolLab
  bool has_label = false;  // the root holds a volume-label entry
  std::vector<FatDirectory> dirs;  // the root first; in cluster order
  std::vector<FatEntry> entries;   // grouped by directory, in tree order
  std::vector<std::string> unsupported;    // "path: reason" of what FAT cannot hold
  std::vector<std::string> clamped_times;  // "path: ..." of times outside FAT's range
  Geometry geo;
  uint64_t used_clusters = 0;  // directories and files
  std::vector<ClusterRun> runs;  // every directory and non-empty file, in cluster order

  uint32_t files = 0;
};

// The path of a dirent from the source root ("etc/fstab").
std::string entry_path(const Tree& tree, uint32_t dirent);

// Chooses the names the volume holds (recording what it cannot hold in
// plan.unsupported), sizes the volume and places every directory and
// file. Throws Error for a label or cluster size FAT cannot take and for
// a volume over FAT32's limits; the caller decides what unsupported
// entries mean.
void plan_volume(Plan& plan);

}  // namespace vdiskfs::fat
