#include "core/fs/ext4/ext4_superblock.h"

#include <algorithm>
#include <cstring>

#include "core/fs/ext4/ext4_format.h"
#include "core/fs/ext4/ext4_format_super.h"

namespace vdiskfs::ext4 {

void write_superblock(const Plan& plan, uint32_t group, uint8_t* p) {
  SuperBlock s{};
  const Geometry& geo = plan.geo;
  const uint32_t t = uint32_t(plan.options.timestamp_ns / 1000000000);
  s.s_inodes_count = uint32_t(geo.inodes_count());
  s.s_blocks_count_lo = uint32_t(geo.blocks);
  s.s_blocks_count_hi = uint32_t(geo.blocks >> 32);
  s.s_r_blocks_count_lo = 0;
  s.s_free_blocks_count_lo = uint32_t(plan.free_blocks);
  s.s_free_blocks_count_hi = uint32_t(plan.free_blocks >> 32);
  s.s_free_inodes_count = uint32_t(plan.free_inodes());
  s.s_first_data_block = 0;
  s.s_log_block_size = kLogBlockSize;
  s.s_log_cluster_size = kLogBlockSize;
  s.s_blocks_per_group = kBlocksPerGroup;
  s.s_clusters_per_group = kBlocksPerGroup;
  s.s_inodes_per_group = geo.inodes_per_group;
  s.s_mtime = 0;
  s.s_wtime = t;
  s.s_mnt_count = 0;
  s.s_max_mnt_count = 0xFFFF;  // -1: no forced checks
  s.s_magic = kMagic;
  s.s_state = 1;   // cleanly unmounted
  s.s_errors = 1;  // continue
  s.s_lastcheck = t;
  s.s_creator_os = 0;  // Linux
  s.s_rev_level = 1;   // dynamic inode sizes
  s.s_first_ino = kFirstIno;
  s.s_inode_size = kInodeSize;
  s.s_block_group_nr = uint16_t(group);
  s.s_feature_compat = plan.tree.xattrs.empty() ? 0 : kCompatExtAttr;
  s.s_feature_incompat = kIncompatFiletype | kIncompatExtents | kIncompatFlexBg;
  s.s_feature_ro_compat = kRoCompatSparseSuper | kRoCompatLargeFile | kRoCompatHugeFile |
                          kRoCompatDirNlink | kRoCompatExtraIsize;
  std::memcpy(s.s_uuid, plan.options.uuid.data(), sizeof s.s_uuid);
  std::memcpy(s.s_volume_name, plan.options.label.data(),
              std::min(sizeof s.s_volume_name, plan.options.label.size()));
  std::memcpy(s.s_hash_seed, plan.options.hash_seed.data(), sizeof s.s_hash_seed);
  s.s_def_hash_version = 1;  // half_md4
  s.s_mkfs_time = t;
  s.s_min_extra_isize = kExtraIsize;
  s.s_want_extra_isize = kExtraIsize;
  s.s_flags = 1;  // signed directory hash, as on x86
  s.s_log_groups_per_flex = 4;
  store(p, s);
}

std::vector<uint8_t> make_group_descriptors(const Plan& plan) {
  const Geometry& geo = plan.geo;
  std::vector<uint8_t> table(size_t(geo.gdt_blocks) * kBlockSize, 0);
  const uint64_t last_used = plan.inodes.last_used();
  for (uint32_t g = 0; g < geo.groups; ++g) {
    GroupDesc d{};
    d.bg_block_bitmap_lo = geo.block_bitmap[g];
    d.bg_inode_bitmap_lo = geo.inode_bitmap[g];
    d.bg_inode_table_lo = geo.inode_table[g];
    d.bg_free_blocks_count_lo = uint16_t(plan.group_free_blocks[g]);
    const uint64_t first_ino = uint64_t(g) * geo.inodes_per_group + 1;
    uint64_t used = 0;
    if (last_used >= first_ino) used = std::min<uint64_t>(last_used - first_ino + 1, geo.inodes_per_group);
    d.bg_free_inodes_count_lo = uint16_t(geo.inodes_per_group - used);
    d.bg_used_dirs_count_lo = uint16_t(plan.group_used_dirs[g]);
    store(table.data() + size_t(g) * sizeof(GroupDesc), d);
  }
  return table;
}

}  // namespace vdiskfs::ext4
