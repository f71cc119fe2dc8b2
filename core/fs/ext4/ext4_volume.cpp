#include "core/fs/ext4/ext4_volume.h"

#include "core/image/error.h"
#include "core/fs/ext4/ext4_bitmaps.h"
#include "core/fs/ext4/ext4_content_images.h"
#include "core/fs/ext4/ext4_format.h"
#include "core/fs/ext4/ext4_inode_table.h"
#include "core/fs/ext4/ext4_superblock.h"
#include "core/image/mapped_image.h"

namespace vdiskfs::ext4 {
namespace {

// Appends a superblock block and the GDT for group `g` to the skeleton and
// maps them at the group's first block.
void add_superblock_copy(Plan& plan, uint32_t g, const std::vector<uint8_t>& gdt) {
  const uint64_t block = uint64_t(g) * kBlocksPerGroup;
  const uint64_t skel = plan.skeleton.size();
  plan.skeleton.resize(skel + kBlockSize + gdt.size(), 0);
  const uint32_t sb_offset = g == 0 ? kSuperBlockOffset : 0;
  write_superblock(plan, g, plan.skeleton.data() + skel + sb_offset);
  std::copy(gdt.begin(), gdt.end(), plan.skeleton.begin() + ptrdiff_t(skel + kBlockSize));
  plan.map.add({block * kBlockSize, kBlockSize + gdt.size(), skel, 0, ExtentKind::skeleton});
}

}  // namespace

std::shared_ptr<const Image> build_volume(const Source& source, const Options& options,
                                          VolumeInfo* info) {
  std::vector<uint32_t> data_order;
  source.data_order(data_order);
  std::vector<FitNote> notes;
  std::shared_ptr<const FittedTree> fitted = fit_tree(source.tree(), options.limits, data_order, notes);
  report_fit(notes, options.strict);
  auto plan = std::make_shared<Plan>(fitted ? fitted->tree : source.tree(), options);
  plan->fitted = fitted;
  plan->data_order = fitted ? fitted->data_order : std::move(data_order);
  layout(*plan);
  const Geometry& geo = plan->geo;
  const std::vector<uint8_t> gdt = make_group_descriptors(*plan);
  for (uint32_t g = 0; g < geo.groups; ++g)
    if (Geometry::has_backup(g)) add_superblock_copy(*plan, g, gdt);
  // Per-group metadata: one extent per run of groups placed back to back.
  auto map_groups = [&](const std::vector<uint32_t>& where, uint32_t blocks_each, VolumeChild child) {
    for (uint32_t g = 0; g < geo.groups;) {
      uint32_t n = 1;
      while (g + n < geo.groups && where[g + n] == where[g] + n * blocks_each) ++n;
      plan->map.add({uint64_t(where[g]) * kBlockSize, uint64_t(n) * blocks_each * kBlockSize,
                     uint64_t(g) * blocks_each * kBlockSize, child, ExtentKind::image});
      g += n;
    }
  };
  map_groups(geo.block_bitmap, 1, kChildBlockBitmaps);
  map_groups(geo.inode_bitmap, 1, kChildInodeBitmaps);
  map_groups(geo.inode_table, geo.itable_blocks_per_group, kChildInodeTable);
  size_t bad = 0;
  if (!plan->map.finish(&bad)) {
    const Extent& a = plan->map.extents()[bad - 1];
    const Extent& b = plan->map.extents()[bad];
    fail("internal error: ext4 layout has overlapping extents: [{}, +{}) kind {} id {} and [{}, +{}) kind {} id {}",
         a.start, a.length, int(a.kind), a.id, b.start, b.length, int(b.kind), b.id);
  }

  std::vector<std::shared_ptr<const Image>> children(kVolumeChildCount);
  children[kChildInodeTable] = std::make_shared<InodeTableImage>(plan);
  children[kChildBlockBitmaps] = std::make_shared<BlockBitmapsImage>(plan);
  children[kChildInodeBitmaps] = std::make_shared<InodeBitmapsImage>(plan);
  children[kChildDirBlocks] = std::make_shared<DirectoryBlocksImage>(plan);
  children[kChildSymlinkBlocks] = std::make_shared<NodeBlocksImage>(plan, &Plan::symlink_blocks, write_symlink_block);
  children[kChildXattrBlocks] =
      std::make_shared<NodeBlocksImage>(plan, &Plan::xattr_block_nodes, write_node_xattr_block);

  if (info) {
    info->blocks = geo.blocks;
    info->free_blocks = plan->free_blocks;
    info->inodes = geo.inodes_count();
    info->free_inodes = plan->free_inodes();
    info->data_blocks = plan->data_blocks;
    info->extents = plan->map.size();
    info->skeleton_bytes = plan->skeleton.size();
  }
  // The map and skeleton move into the image; the plan keeps what the
  // generators need.
  ExtentMap map = std::move(plan->map);
  std::vector<uint8_t> skeleton = std::move(plan->skeleton);
  return std::make_shared<MappedImage>(geo.blocks * kBlockSize, std::move(map), std::move(skeleton),
                                       &source, std::move(children));
}

}  // namespace vdiskfs::ext4
