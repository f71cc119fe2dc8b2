#pragma once
// ext4 extent tree nodes (Documentation/filesystems/ext4/ifork.rst): a
// header, then eh_max 12-byte entries, index entries above the leaves and
// extents in them. The root lives in the inode's i_block; the other nodes
// fill a block each.
#include <cstddef>
#include <cstdint>

#include "core/fs/ext4/ext4_format.h"
#include "core/image/on_disk.h"

namespace vdiskfs::ext4 {

// struct ext4_extent_header: starts every node.
struct ExtentHeader {
  le16 eh_magic;       // 0x00 kExtentMagic
  le16 eh_entries;     // 0x02 valid entries after the header
  le16 eh_max;         // 0x04 entries that fit after the header
  le16 eh_depth;       // 0x06 0: entries are ExtentLeaf; n > 0: ExtentIndex, n levels above the leaves
  le32 eh_generation;  // 0x08
};
static_assert(sizeof(ExtentHeader) == 0xc);
static_assert(offsetof(ExtentHeader, eh_magic) == 0x00);
static_assert(offsetof(ExtentHeader, eh_entries) == 0x02);
static_assert(offsetof(ExtentHeader, eh_max) == 0x04);
static_assert(offsetof(ExtentHeader, eh_depth) == 0x06);
static_assert(offsetof(ExtentHeader, eh_generation) == 0x08);

// struct ext4_extent_idx: an entry of a node above the leaves.
struct ExtentIndex {
  le32 ei_block;    // 0x00 first logical block under this entry
  le32 ei_leaf_lo;  // 0x04 block of the next level down, low 32 bits
  le16 ei_leaf_hi;  // 0x08 its high 16 bits
  le16 ei_unused;   // 0x0a
};
static_assert(sizeof(ExtentIndex) == 0xc);
static_assert(offsetof(ExtentIndex, ei_block) == 0x00);
static_assert(offsetof(ExtentIndex, ei_leaf_lo) == 0x04);
static_assert(offsetof(ExtentIndex, ei_leaf_hi) == 0x08);
static_assert(offsetof(ExtentIndex, ei_unused) == 0x0a);

// struct ext4_extent: an entry of a leaf, one run of blocks.
struct ExtentLeaf {
  le32 ee_block;     // 0x00 first logical block
  le16 ee_len;       // 0x04 blocks, at most kMaxInitExtentLen (more: uninitialized)
  le16 ee_start_hi;  // 0x06 first physical block, high 16 bits
  le32 ee_start_lo;  // 0x08 first physical block, low 32 bits
};
static_assert(sizeof(ExtentLeaf) == 0xc);
static_assert(offsetof(ExtentLeaf, ee_block) == 0x00);
static_assert(offsetof(ExtentLeaf, ee_len) == 0x04);
static_assert(offsetof(ExtentLeaf, ee_start_hi) == 0x06);
static_assert(offsetof(ExtentLeaf, ee_start_lo) == 0x08);

static_assert(sizeof(ExtentIndex) == sizeof(ExtentLeaf), "a node's entries have one size");
static_assert(kBlockExtentSlots == (kBlockSize - sizeof(ExtentHeader)) / sizeof(ExtentLeaf));

}  // namespace vdiskfs::ext4
