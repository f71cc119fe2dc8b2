#pragma once
// The ext4 inode, field by field as the kernel's
// Documentation/filesystems/ext4/inodes.rst draws it, in the 256-byte form
// with the 32 extra bytes this volume gives every inode (i_extra_isize =
// kExtraIsize) and the in-inode xattr area after them.
#include <cstddef>
#include <cstdint>

#include "core/fs/ext4/ext4_format.h"
#include "core/fs/ext4/ext4_format_extent.h"
#include "core/image/on_disk.h"

namespace vdiskfs::ext4 {

// struct ext4_inode (kInodeSize bytes): the first 128 bytes are the
// original inode; i_extra_isize bytes of extra fields follow; the rest
// holds in-inode xattrs. i_block is not a plain field: it holds the extent
// tree's root (ExtentHeader and four entries), a fast symlink's target
// (shorter than i_block), or a device number (i_block[0] in the old
// encoding, i_block[1] in the new).
struct Inode {
  le16 i_mode;             // 0x000 file type and permissions (S_IF*, 07777)
  le16 i_uid;              // 0x002 owner, low 16 bits
  le32 i_size_lo;          // 0x004 size in bytes, low 32 bits
  le32 i_atime;            // 0x008 access time, seconds (low 32 bits, signed)
  le32 i_ctime;            // 0x00c change time, seconds
  le32 i_mtime;            // 0x010 modification time, seconds
  le32 i_dtime;            // 0x014 deletion time
  le16 i_gid;              // 0x018 group, low 16 bits
  le16 i_links_count;      // 0x01a hard links; 1 for a directory past kMaxLinks (dir_nlink)
  le32 i_blocks_lo;        // 0x01c 512-byte sectors held, low 32 bits
  le32 i_flags;            // 0x020 kInodeFlag* (EXT4_*_FL)
  le32 l_i_version;        // 0x024 osd1 (Linux): inode version
  le32 i_block[15];        // 0x028 extent tree root, fast symlink target or device numbers
  le32 i_generation;       // 0x064 file version (NFS)
  le32 i_file_acl_lo;      // 0x068 xattr block, low 32 bits
  le32 i_size_high;        // 0x06c size in bytes, high 32 bits
  le32 i_obso_faddr;       // 0x070
  le16 l_i_blocks_high;    // 0x074 osd2 (Linux): sectors held, high 16 bits
  le16 l_i_file_acl_high;  // 0x076 xattr block, high 16 bits
  le16 l_i_uid_high;       // 0x078 owner, high 16 bits
  le16 l_i_gid_high;       // 0x07a group, high 16 bits
  le16 l_i_checksum_lo;    // 0x07c
  le16 l_i_reserved;       // 0x07e
  le16 i_extra_isize;      // 0x080 bytes used past 0x80: kExtraIsize
  le16 i_checksum_hi;      // 0x082
  le32 i_ctime_extra;      // 0x084 change time: epoch bits, nanoseconds << 2
  le32 i_mtime_extra;      // 0x088 modification time: epoch bits, nanoseconds << 2
  le32 i_atime_extra;      // 0x08c access time: epoch bits, nanoseconds << 2
  le32 i_crtime;           // 0x090 creation time, seconds
  le32 i_crtime_extra;     // 0x094 creation time: epoch bits, nanoseconds << 2
  le32 i_version_hi;       // 0x098
  le32 i_projid;           // 0x09c project id
  uint8_t i_xattrs[96];    // 0x0a0 in-inode xattrs (XattrIbodyHeader, entries, values), up to kInodeSize
};
static_assert(sizeof(Inode) == 0x100);
static_assert(offsetof(Inode, i_mode) == 0x000);
static_assert(offsetof(Inode, i_uid) == 0x002);
static_assert(offsetof(Inode, i_size_lo) == 0x004);
static_assert(offsetof(Inode, i_atime) == 0x008);
static_assert(offsetof(Inode, i_ctime) == 0x00c);
static_assert(offsetof(Inode, i_mtime) == 0x010);
static_assert(offsetof(Inode, i_dtime) == 0x014);
static_assert(offsetof(Inode, i_gid) == 0x018);
static_assert(offsetof(Inode, i_links_count) == 0x01a);
static_assert(offsetof(Inode, i_blocks_lo) == 0x01c);
static_assert(offsetof(Inode, i_flags) == 0x020);
static_assert(offsetof(Inode, l_i_version) == 0x024);
static_assert(offsetof(Inode, i_block) == 0x028);
static_assert(offsetof(Inode, i_generation) == 0x064);
static_assert(offsetof(Inode, i_file_acl_lo) == 0x068);
static_assert(offsetof(Inode, i_size_high) == 0x06c);
static_assert(offsetof(Inode, i_obso_faddr) == 0x070);
static_assert(offsetof(Inode, l_i_blocks_high) == 0x074);
static_assert(offsetof(Inode, l_i_file_acl_high) == 0x076);
static_assert(offsetof(Inode, l_i_uid_high) == 0x078);
static_assert(offsetof(Inode, l_i_gid_high) == 0x07a);
static_assert(offsetof(Inode, l_i_checksum_lo) == 0x07c);
static_assert(offsetof(Inode, l_i_reserved) == 0x07e);
static_assert(offsetof(Inode, i_extra_isize) == 0x080);
static_assert(offsetof(Inode, i_checksum_hi) == 0x082);
static_assert(offsetof(Inode, i_ctime_extra) == 0x084);
static_assert(offsetof(Inode, i_mtime_extra) == 0x088);
static_assert(offsetof(Inode, i_atime_extra) == 0x08c);
static_assert(offsetof(Inode, i_crtime) == 0x090);
static_assert(offsetof(Inode, i_crtime_extra) == 0x094);
static_assert(offsetof(Inode, i_version_hi) == 0x098);
static_assert(offsetof(Inode, i_projid) == 0x09c);
static_assert(offsetof(Inode, i_xattrs) == 0x0a0);

static_assert(sizeof(Inode) == kInodeSize);
static_assert(offsetof(Inode, i_xattrs) == offsetof(Inode, i_extra_isize) + kExtraIsize,
              "the xattr area starts after the extra fields");
static_assert(kInodeExtentSlots == (sizeof(Inode::i_block) - sizeof(ExtentHeader)) / sizeof(ExtentLeaf));
static_assert(kFastSymlinkMax == sizeof(Inode::i_block) - 1);

}  // namespace vdiskfs::ext4
