#include "core/fs/ext4/ext4_content_images.h"

#include <cstring>

#include "core/fs/ext4/ext4_bitmaps.h"
#include "core/fs/ext4/ext4_directory.h"
#include "core/fs/ext4/ext4_xattr.h"

namespace vdiskfs::ext4 {

void DirectoryBlocksImage::write_block(uint64_t index, uint8_t* block) const {
  const Plan& plan = *plan_;
  const DirBlockRef ref = plan.dir_blocks[index];
  const bool more = index + 1 < plan.dir_blocks.size() && plan.dir_blocks[index + 1].dir == ref.dir;
  const uint32_t end = more ? plan.dir_blocks[index + 1].first_entry : plan.dir_entry_count(ref.dir);
  write_directory_block(plan, ref.dir, ref.first_entry, end, block);
}

Status DirectoryBlocksImage::read(uint64_t offset, uint8_t* buf, size_t len) const {
  return read_generated_units<kBlockSize>(offset, buf, len,
                               [this](uint64_t index, uint8_t* block) { write_block(index, block); });
}

Status NodeBlocksImage::read(uint64_t offset, uint8_t* buf, size_t len) const {
  return read_generated_units<kBlockSize>(offset, buf, len, [this](uint64_t index, uint8_t* block) {
    write_(*plan_, ((*plan_).*nodes_)[index], block);
  });
}

void write_symlink_block(const Plan& plan, uint32_t node, uint8_t* block) {
  std::memset(block, 0, kBlockSize);
  const auto target = plan.tree.link_target(plan.tree.nodes[node]);
  std::memcpy(block, target.data(), std::min<size_t>(target.size(), kBlockSize));
}

void write_node_xattr_block(const Plan& plan, uint32_t node, uint8_t* block) {
  write_xattr_block(plan.tree, node, block);
}

}  // namespace vdiskfs::ext4
