#pragma once
// The ext4 superblock and group descriptor, field by field as the kernel's
// Documentation/filesystems/ext4 (super.rst, group_descr.rst) draws them.
#include <cstddef>
#include <cstdint>

#include "core/fs/ext4/ext4_format.h"
#include "core/image/on_disk.h"

namespace vdiskfs::ext4 {

// struct ext4_super_block: 1024 bytes at byte kSuperBlockOffset of the
// volume, and at the start of each backup group's first block.
struct SuperBlock {
  le32 s_inodes_count;             // 0x000 inodes in the volume
  le32 s_blocks_count_lo;          // 0x004 blocks in the volume, low 32 bits
  le32 s_r_blocks_count_lo;        // 0x008 blocks reserved for root, low 32 bits
  le32 s_free_blocks_count_lo;     // 0x00c free blocks, low 32 bits
  le32 s_free_inodes_count;        // 0x010 free inodes
  le32 s_first_data_block;         // 0x014 block of the first superblock: 0 with 4 KiB blocks
  le32 s_log_block_size;           // 0x018 block size = 1024 << this
  le32 s_log_cluster_size;         // 0x01c cluster size = 1024 << this (bigalloc)
  le32 s_blocks_per_group;         // 0x020
  le32 s_clusters_per_group;       // 0x024
  le32 s_inodes_per_group;         // 0x028
  le32 s_mtime;                    // 0x02c last mount, seconds since the epoch
  le32 s_wtime;                    // 0x030 last write, seconds since the epoch
  le16 s_mnt_count;                // 0x034 mounts since the last check
  le16 s_max_mnt_count;            // 0x036 mounts before a check is forced
  le16 s_magic;                    // 0x038 kMagic
  le16 s_state;                    // 0x03a 1: cleanly unmounted
  le16 s_errors;                   // 0x03c on errors: 1 continue, 2 remount read-only, 3 panic
  le16 s_minor_rev_level;          // 0x03e
  le32 s_lastcheck;                // 0x040 last check, seconds since the epoch
  le32 s_checkinterval;            // 0x044 seconds between forced checks
  le32 s_creator_os;               // 0x048 0: Linux
  le32 s_rev_level;                // 0x04c 1: dynamic inode sizes
  le16 s_def_resuid;               // 0x050 owner of the reserved blocks
  le16 s_def_resgid;               // 0x052
  le32 s_first_ino;                // 0x054 first non-reserved inode
  le16 s_inode_size;               // 0x058 bytes per inode
  le16 s_block_group_nr;           // 0x05a group holding this copy
  le32 s_feature_compat;           // 0x05c kCompat* flags
  le32 s_feature_incompat;         // 0x060 kIncompat* flags
  le32 s_feature_ro_compat;        // 0x064 kRoCompat* flags
  uint8_t s_uuid[16];              // 0x068 volume UUID
  uint8_t s_volume_name[16];       // 0x078 label, NUL-padded
  uint8_t s_last_mounted[64];      // 0x088 directory last mounted on
  le32 s_algorithm_usage_bitmap;   // 0x0c8
  uint8_t s_prealloc_blocks;       // 0x0cc
  uint8_t s_prealloc_dir_blocks;   // 0x0cd
  le16 s_reserved_gdt_blocks;      // 0x0ce blocks reserved for GDT growth
  uint8_t s_journal_uuid[16];      // 0x0d0
  le32 s_journal_inum;             // 0x0e0
  le32 s_journal_dev;              // 0x0e4
  le32 s_last_orphan;              // 0x0e8
  le32 s_hash_seed[4];             // 0x0ec seed of the directory hash
  uint8_t s_def_hash_version;      // 0x0fc 1: half_md4
  uint8_t s_jnl_backup_type;       // 0x0fd
  le16 s_desc_size;                // 0x0fe group descriptor size with 64bit; 0 means 32
  le32 s_default_mount_opts;       // 0x100
  le32 s_first_meta_bg;            // 0x104
  le32 s_mkfs_time;                // 0x108 creation, seconds since the epoch
  le32 s_jnl_blocks[17];           // 0x10c backup of the journal inode's i_block and size
  le32 s_blocks_count_hi;          // 0x150 blocks in the volume, high 32 bits
  le32 s_r_blocks_count_hi;        // 0x154
  le32 s_free_blocks_count_hi;     // 0x158 free blocks, high 32 bits
  le16 s_min_extra_isize;          // 0x15c i_extra_isize every inode has at least
  le16 s_want_extra_isize;         // 0x15e i_extra_isize new inodes get
  le32 s_flags;                    // 0x160 1: signed directory hash
  le16 s_raid_stride;              // 0x164
  le16 s_mmp_interval;             // 0x166
  le64 s_mmp_block;                // 0x168
  le32 s_raid_stripe_width;        // 0x170
  uint8_t s_log_groups_per_flex;   // 0x174 groups per flex_bg = 1 << this
  uint8_t s_checksum_type;         // 0x175
  uint8_t s_encryption_level;      // 0x176
  uint8_t s_reserved_pad;          // 0x177
  le64 s_kbytes_written;           // 0x178
  le32 s_snapshot_inum;            // 0x180
  le32 s_snapshot_id;              // 0x184
  le64 s_snapshot_r_blocks_count;  // 0x188
  le32 s_snapshot_list;            // 0x190
  le32 s_error_count;              // 0x194
  le32 s_first_error_time;         // 0x198
  le32 s_first_error_ino;          // 0x19c
  le64 s_first_error_block;        // 0x1a0
  uint8_t s_first_error_func[32];  // 0x1a8
  le32 s_first_error_line;         // 0x1c8
  le32 s_last_error_time;          // 0x1cc
  le32 s_last_error_ino;           // 0x1d0
  le32 s_last_error_line;          // 0x1d4
  le64 s_last_error_block;         // 0x1d8
  uint8_t s_last_error_func[32];   // 0x1e0
  uint8_t s_mount_opts[64];        // 0x200
  le32 s_usr_quota_inum;           // 0x240
  le32 s_grp_quota_inum;           // 0x244
  le32 s_overhead_blocks;          // 0x248
  le32 s_backup_bgs[2];            // 0x24c sparse_super2 backup groups
  uint8_t s_encrypt_algos[4];      // 0x254
  uint8_t s_encrypt_pw_salt[16];   // 0x258
  le32 s_lpf_ino;                  // 0x268
  le32 s_prj_quota_inum;           // 0x26c
  le32 s_checksum_seed;            // 0x270
  uint8_t s_wtime_hi;              // 0x274
  uint8_t s_mtime_hi;              // 0x275
  uint8_t s_mkfs_time_hi;          // 0x276
  uint8_t s_lastcheck_hi;          // 0x277
  uint8_t s_first_error_time_hi;   // 0x278
  uint8_t s_last_error_time_hi;    // 0x279
  uint8_t s_first_error_errcode;   // 0x27a
  uint8_t s_last_error_errcode;    // 0x27b
  le16 s_encoding;                 // 0x27c filename charset encoding
  le16 s_encoding_flags;           // 0x27e
  le32 s_orphan_file_inum;         // 0x280
  le32 s_reserved[94];             // 0x284
  le32 s_checksum;                 // 0x3fc crc32c of the superblock (metadata_csum)
};
static_assert(sizeof(SuperBlock) == 0x400);
static_assert(offsetof(SuperBlock, s_inodes_count) == 0x000);
static_assert(offsetof(SuperBlock, s_blocks_count_lo) == 0x004);
static_assert(offsetof(SuperBlock, s_r_blocks_count_lo) == 0x008);
static_assert(offsetof(SuperBlock, s_free_blocks_count_lo) == 0x00c);
static_assert(offsetof(SuperBlock, s_free_inodes_count) == 0x010);
static_assert(offsetof(SuperBlock, s_first_data_block) == 0x014);
static_assert(offsetof(SuperBlock, s_log_block_size) == 0x018);
static_assert(offsetof(SuperBlock, s_log_cluster_size) == 0x01c);
static_assert(offsetof(SuperBlock, s_blocks_per_group) == 0x020);
static_assert(offsetof(SuperBlock, s_clusters_per_group) == 0x024);
static_assert(offsetof(SuperBlock, s_inodes_per_group) == 0x028);
static_assert(offsetof(SuperBlock, s_mtime) == 0x02c);
static_assert(offsetof(SuperBlock, s_wtime) == 0x030);
static_assert(offsetof(SuperBlock, s_mnt_count) == 0x034);
static_assert(offsetof(SuperBlock, s_max_mnt_count) == 0x036);
static_assert(offsetof(SuperBlock, s_magic) == 0x038);
static_assert(offsetof(SuperBlock, s_state) == 0x03a);
static_assert(offsetof(SuperBlock, s_errors) == 0x03c);
static_assert(offsetof(SuperBlock, s_minor_rev_level) == 0x03e);
static_assert(offsetof(SuperBlock, s_lastcheck) == 0x040);
static_assert(offsetof(SuperBlock, s_checkinterval) == 0x044);
static_assert(offsetof(SuperBlock, s_creator_os) == 0x048);
static_assert(offsetof(SuperBlock, s_rev_level) == 0x04c);
static_assert(offsetof(SuperBlock, s_def_resuid) == 0x050);
static_assert(offsetof(SuperBlock, s_def_resgid) == 0x052);
static_assert(offsetof(SuperBlock, s_first_ino) == 0x054);
static_assert(offsetof(SuperBlock, s_inode_size) == 0x058);
static_assert(offsetof(SuperBlock, s_block_group_nr) == 0x05a);
static_assert(offsetof(SuperBlock, s_feature_compat) == 0x05c);
static_assert(offsetof(SuperBlock, s_feature_incompat) == 0x060);
static_assert(offsetof(SuperBlock, s_feature_ro_compat) == 0x064);
static_assert(offsetof(SuperBlock, s_uuid) == 0x068);
static_assert(offsetof(SuperBlock, s_volume_name) == 0x078);
static_assert(offsetof(SuperBlock, s_last_mounted) == 0x088);
static_assert(offsetof(SuperBlock, s_algorithm_usage_bitmap) == 0x0c8);
static_assert(offsetof(SuperBlock, s_prealloc_blocks) == 0x0cc);
static_assert(offsetof(SuperBlock, s_prealloc_dir_blocks) == 0x0cd);
static_assert(offsetof(SuperBlock, s_reserved_gdt_blocks) == 0x0ce);
static_assert(offsetof(SuperBlock, s_journal_uuid) == 0x0d0);
static_assert(offsetof(SuperBlock, s_journal_inum) == 0x0e0);
static_assert(offsetof(SuperBlock, s_journal_dev) == 0x0e4);
static_assert(offsetof(SuperBlock, s_last_orphan) == 0x0e8);
static_assert(offsetof(SuperBlock, s_hash_seed) == 0x0ec);
static_assert(offsetof(SuperBlock, s_def_hash_version) == 0x0fc);
static_assert(offsetof(SuperBlock, s_jnl_backup_type) == 0x0fd);
static_assert(offsetof(SuperBlock, s_desc_size) == 0x0fe);
static_assert(offsetof(SuperBlock, s_default_mount_opts) == 0x100);
static_assert(offsetof(SuperBlock, s_first_meta_bg) == 0x104);
static_assert(offsetof(SuperBlock, s_mkfs_time) == 0x108);
static_assert(offsetof(SuperBlock, s_jnl_blocks) == 0x10c);
static_assert(offsetof(SuperBlock, s_blocks_count_hi) == 0x150);
static_assert(offsetof(SuperBlock, s_r_blocks_count_hi) == 0x154);
static_assert(offsetof(SuperBlock, s_free_blocks_count_hi) == 0x158);
static_assert(offsetof(SuperBlock, s_min_extra_isize) == 0x15c);
static_assert(offsetof(SuperBlock, s_want_extra_isize) == 0x15e);
static_assert(offsetof(SuperBlock, s_flags) == 0x160);
static_assert(offsetof(SuperBlock, s_raid_stride) == 0x164);
static_assert(offsetof(SuperBlock, s_mmp_interval) == 0x166);
static_assert(offsetof(SuperBlock, s_mmp_block) == 0x168);
static_assert(offsetof(SuperBlock, s_raid_stripe_width) == 0x170);
static_assert(offsetof(SuperBlock, s_log_groups_per_flex) == 0x174);
static_assert(offsetof(SuperBlock, s_checksum_type) == 0x175);
static_assert(offsetof(SuperBlock, s_encryption_level) == 0x176);
static_assert(offsetof(SuperBlock, s_reserved_pad) == 0x177);
static_assert(offsetof(SuperBlock, s_kbytes_written) == 0x178);
static_assert(offsetof(SuperBlock, s_snapshot_inum) == 0x180);
static_assert(offsetof(SuperBlock, s_snapshot_id) == 0x184);
static_assert(offsetof(SuperBlock, s_snapshot_r_blocks_count) == 0x188);
static_assert(offsetof(SuperBlock, s_snapshot_list) == 0x190);
static_assert(offsetof(SuperBlock, s_error_count) == 0x194);
static_assert(offsetof(SuperBlock, s_first_error_time) == 0x198);
static_assert(offsetof(SuperBlock, s_first_error_ino) == 0x19c);
static_assert(offsetof(SuperBlock, s_first_error_block) == 0x1a0);
static_assert(offsetof(SuperBlock, s_first_error_func) == 0x1a8);
static_assert(offsetof(SuperBlock, s_first_error_line) == 0x1c8);
static_assert(offsetof(SuperBlock, s_last_error_time) == 0x1cc);
static_assert(offsetof(SuperBlock, s_last_error_ino) == 0x1d0);
static_assert(offsetof(SuperBlock, s_last_error_line) == 0x1d4);
static_assert(offsetof(SuperBlock, s_last_error_block) == 0x1d8);
static_assert(offsetof(SuperBlock, s_last_error_func) == 0x1e0);
static_assert(offsetof(SuperBlock, s_mount_opts) == 0x200);
static_assert(offsetof(SuperBlock, s_usr_quota_inum) == 0x240);
static_assert(offsetof(SuperBlock, s_grp_quota_inum) == 0x244);
static_assert(offsetof(SuperBlock, s_overhead_blocks) == 0x248);
static_assert(offsetof(SuperBlock, s_backup_bgs) == 0x24c);
static_assert(offsetof(SuperBlock, s_encrypt_algos) == 0x254);
static_assert(offsetof(SuperBlock, s_encrypt_pw_salt) == 0x258);
static_assert(offsetof(SuperBlock, s_lpf_ino) == 0x268);
static_assert(offsetof(SuperBlock, s_prj_quota_inum) == 0x26c);
static_assert(offsetof(SuperBlock, s_checksum_seed) == 0x270);
static_assert(offsetof(SuperBlock, s_wtime_hi) == 0x274);
static_assert(offsetof(SuperBlock, s_mtime_hi) == 0x275);
static_assert(offsetof(SuperBlock, s_mkfs_time_hi) == 0x276);
static_assert(offsetof(SuperBlock, s_lastcheck_hi) == 0x277);
static_assert(offsetof(SuperBlock, s_first_error_time_hi) == 0x278);
static_assert(offsetof(SuperBlock, s_last_error_time_hi) == 0x279);
static_assert(offsetof(SuperBlock, s_first_error_errcode) == 0x27a);
static_assert(offsetof(SuperBlock, s_last_error_errcode) == 0x27b);
static_assert(offsetof(SuperBlock, s_encoding) == 0x27c);
static_assert(offsetof(SuperBlock, s_encoding_flags) == 0x27e);
static_assert(offsetof(SuperBlock, s_orphan_file_inum) == 0x280);
static_assert(offsetof(SuperBlock, s_reserved) == 0x284);
static_assert(offsetof(SuperBlock, s_checksum) == 0x3fc);

// struct ext4_group_desc in its 32-byte form (no 64bit feature): where a
// group's bitmaps and inode table are, and its free counts. The descriptor
// table follows the superblock's block.
struct GroupDesc {
  le32 bg_block_bitmap_lo;       // 0x00 block of the block bitmap
  le32 bg_inode_bitmap_lo;       // 0x04 block of the inode bitmap
  le32 bg_inode_table_lo;        // 0x08 first block of the inode table
  le16 bg_free_blocks_count_lo;  // 0x0c
  le16 bg_free_inodes_count_lo;  // 0x0e
  le16 bg_used_dirs_count_lo;    // 0x10 directories in the group
  le16 bg_flags;                 // 0x12 EXT4_BG_* (uninitialized tables, zeroed)
  le32 bg_exclude_bitmap_lo;     // 0x14
  le16 bg_block_bitmap_csum_lo;  // 0x18
  le16 bg_inode_bitmap_csum_lo;  // 0x1a
  le16 bg_itable_unused_lo;      // 0x1c
  le16 bg_checksum;              // 0x1e crc16 of the descriptor (gdt_csum)
};
static_assert(sizeof(GroupDesc) == 0x20);
static_assert(offsetof(GroupDesc, bg_block_bitmap_lo) == 0x00);
static_assert(offsetof(GroupDesc, bg_inode_bitmap_lo) == 0x04);
static_assert(offsetof(GroupDesc, bg_inode_table_lo) == 0x08);
static_assert(offsetof(GroupDesc, bg_free_blocks_count_lo) == 0x0c);
static_assert(offsetof(GroupDesc, bg_free_inodes_count_lo) == 0x0e);
static_assert(offsetof(GroupDesc, bg_used_dirs_count_lo) == 0x10);
static_assert(offsetof(GroupDesc, bg_flags) == 0x12);
static_assert(offsetof(GroupDesc, bg_exclude_bitmap_lo) == 0x14);
static_assert(offsetof(GroupDesc, bg_block_bitmap_csum_lo) == 0x18);
static_assert(offsetof(GroupDesc, bg_inode_bitmap_csum_lo) == 0x1a);
static_assert(offsetof(GroupDesc, bg_itable_unused_lo) == 0x1c);
static_assert(offsetof(GroupDesc, bg_checksum) == 0x1e);
static_assert(sizeof(GroupDesc) == kGroupDescSize);

}  // namespace vdiskfs::ext4
