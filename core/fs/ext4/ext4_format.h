#pragma once
// ext4 constants: the geometry this volume uses, magic numbers and the
// feature and inode flags we set, after the kernel's
// Documentation/filesystems/ext4. The structures themselves are in
// ext4_format_{super,inode,extent,dirent,xattr}.h.
#include <cstdint>

namespace vdiskfs::ext4 {

inline constexpr uint32_t kBlockSize = 4096;
inline constexpr uint32_t kSuperBlockOffset = 1024;  // bytes into the volume (group 0's block)
inline constexpr uint32_t kLogBlockSize = 2;  // 1024 << 2
inline constexpr uint32_t kBlocksPerGroup = 32768;
inline constexpr uint32_t kInodeSize = 256;
inline constexpr uint32_t kInodesPerBlock = kBlockSize / kInodeSize;
inline constexpr uint32_t kExtraIsize = 32;  // fields 0x80..0x9F
inline constexpr uint32_t kGroupDescSize = 32;  // without the 64bit feature
inline constexpr uint32_t kFirstIno = 11;
inline constexpr uint32_t kRootIno = 2;
inline constexpr uint32_t kMaxInitExtentLen = 32768;
inline constexpr uint32_t kMaxLinks = 65000;  // beyond: dir_nlink's "1"
inline constexpr uint16_t kMagic = 0xEF53;
inline constexpr uint16_t kExtentMagic = 0xF30A;
inline constexpr uint32_t kInodeExtentSlots = 4;  // in i_block after the header
inline constexpr uint32_t kBlockExtentSlots = 340;  // in a tree block after the header
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

}  // namespace vdiskfs::ext4
