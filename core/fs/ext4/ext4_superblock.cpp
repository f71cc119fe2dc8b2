#include "core/fs/ext4/ext4_superblock.h"

#include <cstring>

#include "core/image/endian.h"
#include "core/fs/ext4/ext4_format.h"

namespace vdiskfs::ext4 {

void write_superblock(const Plan& plan, uint32_t group, uint8_t* p) {
  std::memset(p, 0, sb::kSize);
  const Geometry& geo = plan.geo;
  const uint32_t t = uint32_t(plan.options.timestamp_ns / 1000000000);
  put_le32(p + sb::inodes_count, uint32_t(geo.inodes_count()));
  put_le32(p + sb::blocks_count_lo, uint32_t(geo.blocks));
  put_le32(p + sb::blocks_count_hi, uint32_t(geo.blocks >> 32));
  put_le32(p + sb::r_blocks_count_lo, 0);
  put_le32(p + sb::free_blocks_count_lo, uint32_t(plan.free_blocks));
  put_le32(p + sb::free_blocks_count_hi, uint32_t(plan.free_blocks >> 32));
  put_le32(p + sb::free_inodes_count, uint32_t(plan.free_inodes()));
  put_le32(p + sb::first_data_block, 0);
  put_le32(p + sb::log_block_size, kLogBlockSize);
  put_le32(p + sb::log_cluster_size, kLogBlockSize);
  put_le32(p + sb::blocks_per_group, kBlocksPerGroup);
  put_le32(p + sb::clusters_per_group, kBlocksPerGroup);
  put_le32(p + sb::inodes_per_group, geo.inodes_per_group);
  put_le32(p + sb::mtime, 0);
  put_le32(p + sb::wtime, t);
  put_le16(p + sb::mnt_count, 0);
  put_le16(p + sb::max_mnt_count, 0xFFFF);  // -1: no forced checks
  put_le16(p + sb::magic, kMagic);
  put_le16(p + sb::state, 1);   // cleanly unmounted
  put_le16(p + sb::errors, 1);  // continue
  put_le32(p + sb::lastcheck, t);
  put_le32(p + sb::creator_os, 0);  // Linux
  put_le32(p + sb::rev_level, 1);   // dynamic inode sizes
  put_le32(p + sb::first_ino, kFirstIno);
  put_le16(p + sb::inode_size, kInodeSize);
  put_le16(p + sb::block_group_nr, uint16_t(group));
  put_le32(p + sb::feature_compat, plan.tree.xattrs.empty() ? 0 : kCompatExtAttr);
  put_le32(p + sb::feature_incompat, kIncompatFiletype | kIncompatExtents | kIncompatFlexBg);
  put_le32(p + sb::feature_ro_compat, kRoCompatSparseSuper | kRoCompatLargeFile |
                                          kRoCompatHugeFile | kRoCompatDirNlink |
                                          kRoCompatExtraIsize);
  std::memcpy(p + sb::uuid, plan.options.uuid.data(), 16);
  std::memcpy(p + sb::volume_name, plan.options.label.data(), std::min<size_t>(16, plan.options.label.size()));
  std::memcpy(p + sb::hash_seed, plan.options.hash_seed.data(), 16);
  p[sb::def_hash_version] = 1;  // half_md4
  put_le32(p + sb::mkfs_time, t);
  put_le16(p + sb::min_extra_isize, kExtraIsize);
  put_le16(p + sb::want_extra_isize, kExtraIsize);
  put_le32(p + sb::flags, 1);  // signed directory hash, as on x86
  p[sb::log_groups_per_flex] = 4;
}

std::vector<uint8_t> make_group_descriptors(const Plan& plan) {
  const Geometry& geo = plan.geo;
  std::vector<uint8_t> table(size_t(geo.gdt_blocks) * kBlockSize, 0);
  const uint64_t last_used = plan.inodes.last_used();
  for (uint32_t g = 0; g < geo.groups; ++g) {
    uint8_t* d = table.data() + size_t(g) * kGroupDescSize;
    put_le32(d + gd::block_bitmap_lo, geo.block_bitmap[g]);
    put_le32(d + gd::inode_bitmap_lo, geo.inode_bitmap[g]);
    put_le32(d + gd::inode_table_lo, geo.inode_table[g]);
    put_le16(d + gd::free_blocks_count_lo, uint16_t(plan.group_free_blocks[g]));
    const uint64_t first_ino = uint64_t(g) * geo.inodes_per_group + 1;
    uint64_t used = 0;
    if (last_used >= first_ino) used = std::min<uint64_t>(last_used - first_ino + 1, geo.inodes_per_group);
    put_le16(d + gd::free_inodes_count_lo, uint16_t(geo.inodes_per_group - used));
    put_le16(d + gd::used_dirs_count_lo, uint16_t(plan.group_used_dirs[g]));
  }
  return table;
}

}  // namespace vdiskfs::ext4
