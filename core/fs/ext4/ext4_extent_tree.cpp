#include "core/fs/ext4/ext4_extent_tree.h"

#include <algorithm>
#include <cstring>

#include "core/fs/ext4/ext4_format.h"
#include "core/fs/ext4/ext4_format_extent.h"
#include "core/fs/ext4/ext4_format_inode.h"
#include "core/image/arith.h"

namespace vdiskfs::ext4 {
namespace {

// Writes a node's header: `entries` of `max` slots used, `depth` levels
// above the leaves.
void write_header(uint8_t* node, uint16_t entries, uint16_t max, uint16_t depth) {
  ExtentHeader h{};
  h.eh_magic = kExtentMagic;
  h.eh_entries = entries;
  h.eh_max = max;
  h.eh_depth = depth;
  h.eh_generation = 0;
  store(node, h);
}

// The bytes of entry `i` of a node (an ExtentIndex or an ExtentLeaf).
uint8_t* entry_at(uint8_t* node, size_t i) { return node + sizeof(ExtentHeader) + i * sizeof(ExtentLeaf); }

void write_extent(uint8_t* p, const FileExtent& e) {
  ExtentLeaf leaf{};
  leaf.ee_block = e.logical;
  leaf.ee_len = uint16_t(e.length);
  leaf.ee_start_hi = 0;
  leaf.ee_start_lo = e.physical;
  store(p, leaf);
}

// An index entry: the first logical block under a child block.
struct IndexEntry {
  uint32_t logical;
  uint32_t block;
};

void write_index(uint8_t* p, const IndexEntry& e) {
  ExtentIndex index{};
  index.ei_block = e.logical;
  index.ei_leaf_lo = e.block;
  index.ei_leaf_hi = 0;
  index.ei_unused = 0;
  store(p, index);
}

}  // namespace

void append_extents(uint32_t logical, const std::vector<BlockRun>& runs,
                    std::vector<FileExtent>& out) {
  for (const BlockRun& run : runs) {
    uint32_t done = 0;
    while (done < run.count) {
      const uint32_t len = std::min(run.count - done, kMaxInitExtentLen);
      out.push_back({logical, len, run.start + done});
      logical += len;
      done += len;
    }
  }
}

uint32_t extent_tree_block_count(size_t extent_count) {
  if (extent_count <= kInodeExtentSlots) return 0;
  size_t level = div_up(extent_count, kBlockExtentSlots);
  size_t total = level;
  while (level > kInodeExtentSlots) {
    level = div_up(level, kBlockExtentSlots);
    total += level;
  }
  return uint32_t(total);
}

void write_inline_extents(const FileExtent* extents, size_t count, uint8_t* i_block) {
  std::memset(i_block, 0, sizeof(Inode::i_block));
  write_header(i_block, uint16_t(count), kInodeExtentSlots, 0);
  for (size_t i = 0; i < count; ++i) write_extent(entry_at(i_block, i), extents[i]);
}

void write_extent_tree(const std::vector<FileExtent>& extents,
                       const std::vector<uint32_t>& tree_blocks, uint8_t* block_bytes,
                       uint8_t* i_block) {
  size_t next_block = 0;
  std::vector<IndexEntry> level;
  // Leaves.
  for (size_t i = 0; i < extents.size(); i += kBlockExtentSlots) {
    const size_t n = std::min<size_t>(kBlockExtentSlots, extents.size() - i);
    uint8_t* b = block_bytes + next_block * kBlockSize;
    std::memset(b, 0, kBlockSize);
    write_header(b, uint16_t(n), kBlockExtentSlots, 0);
    for (size_t j = 0; j < n; ++j) write_extent(entry_at(b, j), extents[i + j]);
    level.push_back({extents[i].logical, tree_blocks[next_block]});
    ++next_block;
  }
  // Index levels until the root fits the inode.
  uint16_t depth = 1;
  while (level.size() > kInodeExtentSlots) {
    std::vector<IndexEntry> upper;
    for (size_t i = 0; i < level.size(); i += kBlockExtentSlots) {
      const size_t n = std::min<size_t>(kBlockExtentSlots, level.size() - i);
      uint8_t* b = block_bytes + next_block * kBlockSize;
      std::memset(b, 0, kBlockSize);
      write_header(b, uint16_t(n), kBlockExtentSlots, depth);
      for (size_t j = 0; j < n; ++j) write_index(entry_at(b, j), level[i + j]);
      upper.push_back({level[i].logical, tree_blocks[next_block]});
      ++next_block;
    }
    level.swap(upper);
    ++depth;
  }
  std::memset(i_block, 0, sizeof(Inode::i_block));
  write_header(i_block, uint16_t(level.size()), kInodeExtentSlots, depth);
  for (size_t i = 0; i < level.size(); ++i) write_index(entry_at(i_block, i), level[i]);
}

}  // namespace vdiskfs::ext4
