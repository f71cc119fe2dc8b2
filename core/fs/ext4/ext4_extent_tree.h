#pragma once
// ext4 extent trees: a file's block runs become extents (at most 32768
// blocks each); up to four fit in the inode, more go into leaf blocks of 340
// extents under index levels as deep as needed. Leaves are packed full, so
// e2fsck finds nothing to narrow or collapse.
#include <cstdint>
#include <vector>

#include "core/fs/ext4/ext4_plan.h"

namespace vdiskfs::ext4 {

// Appends the extents that map logical blocks from `logical` on onto runs.
void append_extents(uint32_t logical, const std::vector<BlockRun>& runs,
                    std::vector<FileExtent>& out);

// Tree blocks (leaves plus index blocks) needed for `extent_count` extents.
uint32_t extent_tree_block_count(size_t extent_count);

// Writes the extent header and up to four extents into an inode's i_block.
void write_inline_extents(const FileExtent* extents, size_t count, uint8_t* i_block);

// Writes a tree for more than four extents. `tree_blocks` holds the
// physical numbers of extent_tree_block_count() blocks; their bytes go to
// `block_bytes` (4096 each, same order) and the root to `i_block`.
void write_extent_tree(const std::vector<FileExtent>& extents,
                       const std::vector<uint32_t>& tree_blocks, uint8_t* block_bytes,
                       uint8_t* i_block);

}  // namespace vdiskfs::ext4
