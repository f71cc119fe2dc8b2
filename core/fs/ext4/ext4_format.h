#pragma once
// ext4 on-disk constants and field offsets, after the kernel's
// Documentation/filesystems/ext4 (superblock, group descriptors, inodes,
// extent tree, directory entries). Offsets are in bytes from the start of
// each structure; all fields are little-endian.
#include <cstdint>

namespace vdiskfs::ext4 {

inline constexpr uint32_t kBlockSize = 4096;
inline constexpr uint32_t kLogBlockSize = 2;  // 1024 << 2
inline constexpr uint32_t kBlocksPerGroup = 32768;
inline constexpr uint32_t kInodeSize = 256;
inline constexpr uint32_t kInodesPerBlock = kBlockSize / kInodeSize;
inline constexpr uint32_t kExtraIsize = 32;  // fields 0x80..0x9F
inline constexpr uint32_t kGroupDescSize = 32;
inline constexpr uint32_t kFirstIno = 11;
inline constexpr uint32_t kRootIno = 2;
inline constexpr uint32_t kMaxInitExtentLen = 32768;
inline constexpr uint32_t kMaxLinks = 65000;  // beyond: dir_nlink's "1"
inline constexpr uint16_t kMagic = 0xEF53;
inline constexpr uint16_t kExtentMagic = 0xF30A;
inline constexpr uint32_t kInodeExtentSlots = 4;  // in i_block after the header
inline constexpr uint32_t kBlockExtentSlots = (kBlockSize - 12) / 12;  // 340
inline constexpr uint32_t kFastSymlinkMax = 59;  // targets shorter than i_block

// Feature flags we set (s_feature_*).
inline constexpr uint32_t kCompatExtAttr = 0x0008;
inline constexpr uint32_t kIncompatFiletype = 0x0002;
inline constexpr uint32_t kIncompatExtents = 0x0040;
inline constexpr uint32_t kIncompatFlexBg = 0x0200;
inline constexpr uint32_t kRoCompatSparseSuper = 0x0001;
inline constexpr uint32_t kRoCompatLargeFile = 0x0002;
inline constexpr uint32_t kRoCompatHugeFile = 0x0008;
inline constexpr uint32_t kRoCompatDirNlink = 0x0020;
inline constexpr uint32_t kRoCompatExtraIsize = 0x0040;

inline constexpr uint32_t kInodeFlagExtents = 0x00080000;

// Superblock field offsets (struct ext4_super_block).
namespace sb {
inline constexpr uint32_t inodes_count = 0x00, blocks_count_lo = 0x04, r_blocks_count_lo = 0x08,
    free_blocks_count_lo = 0x0C, free_inodes_count = 0x10, first_data_block = 0x14,
    log_block_size = 0x18, log_cluster_size = 0x1C, blocks_per_group = 0x20,
    clusters_per_group = 0x24, inodes_per_group = 0x28, mtime = 0x2C, wtime = 0x30,
    mnt_count = 0x34, max_mnt_count = 0x36, magic = 0x38, state = 0x3A, errors = 0x3C,
    minor_rev_level = 0x3E, lastcheck = 0x40, checkinterval = 0x44, creator_os = 0x48,
    rev_level = 0x4C, def_resuid = 0x50, def_resgid = 0x52, first_ino = 0x54,
    inode_size = 0x58, block_group_nr = 0x5A, feature_compat = 0x5C,
    feature_incompat = 0x60, feature_ro_compat = 0x64, uuid = 0x68, volume_name = 0x78,
    last_mounted = 0x88, hash_seed = 0xEC, def_hash_version = 0xFC, desc_size = 0xFE,
    mkfs_time = 0x108, blocks_count_hi = 0x150, free_blocks_count_hi = 0x158,
    min_extra_isize = 0x15C, want_extra_isize = 0x15E, flags = 0x160,
    log_groups_per_flex = 0x174;
inline constexpr uint32_t kSize = 1024;
inline constexpr uint32_t kOffsetInBlock0 = 1024;
}  // namespace sb

// Group descriptor field offsets (struct ext4_group_desc, 32-byte form).
namespace gd {
inline constexpr uint32_t block_bitmap_lo = 0x00, inode_bitmap_lo = 0x04, inode_table_lo = 0x08,
    free_blocks_count_lo = 0x0C, free_inodes_count_lo = 0x0E, used_dirs_count_lo = 0x10,
    flags = 0x12;
}  // namespace gd

// Inode field offsets (struct ext4_inode).
namespace ino {
inline constexpr uint32_t mode = 0x00, uid = 0x02, size_lo = 0x04, atime = 0x08, ctime = 0x0C,
    mtime = 0x10, dtime = 0x14, gid = 0x18, links_count = 0x1A, blocks_lo = 0x1C,
    flags = 0x20, block = 0x28, generation = 0x64, file_acl_lo = 0x68, size_high = 0x6C,
    blocks_high = 0x74, uid_high = 0x78, gid_high = 0x7A, extra_isize = 0x80,
    ctime_extra = 0x84, mtime_extra = 0x88, atime_extra = 0x8C, crtime = 0x90,
    crtime_extra = 0x94;
inline constexpr uint32_t kBlockBytes = 60;  // i_block
}  // namespace ino

// Directory entry file types (ext4_dir_entry_2.file_type).
enum class DirFileType : uint8_t {
  unknown = 0, regular = 1, directory = 2, char_device = 3, block_device = 4, fifo = 5,
  socket = 6, symlink = 7,
};

// Bytes a directory entry with a name of `name_len` takes (8-byte header,
// name, padded to 4).
inline constexpr uint32_t dirent_size(uint32_t name_len) { return (8 + name_len + 3) & ~3u; }

}  // namespace vdiskfs::ext4
