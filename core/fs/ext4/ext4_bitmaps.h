#pragma once
// Block and inode bitmaps of all groups (contiguous under flex_bg),
// computed from the plan on each read. Padding bits past the end of the
// last group and past inodes_per_group are set, as e2fsck expects.
#include <algorithm>
#include <cstring>
#include <memory>

#include "core/fs/ext4/ext4_plan.h"
#include "core/image/generated_units.h"
#include "core/image/image.h"

namespace vdiskfs::ext4 {

// One bitmap block per block group, generated on each read: the block
// bitmaps (BlockBitmapsImage) or the inode bitmaps (InodeBitmapsImage) of
// every group, back to back. Size: groups * kBlockSize bytes.
class GroupBitmapsImage : public Image {
 public:
  explicit GroupBitmapsImage(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {}
  uint64_t size() const override { return uint64_t(plan_->geo.groups) * kBlockSize; }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override;

 protected:
  // Fills `block` (kBlockSize bytes) with the bitmap of `group`.
  virtual void write_group(uint32_t group, uint8_t* block) const = 0;
  std::shared_ptr<const Plan> plan_;
};

// Block bitmaps: a bit per block of the group, set when used.
class BlockBitmapsImage final : public GroupBitmapsImage {
 public:
  using GroupBitmapsImage::GroupBitmapsImage;

 private:
  void write_group(uint32_t group, uint8_t* block) const override;
};

// Inode bitmaps: a bit per inode of the group, set when used.
class InodeBitmapsImage final : public GroupBitmapsImage {
 public:
  using GroupBitmapsImage::GroupBitmapsImage;

 private:
  void write_group(uint32_t group, uint8_t* block) const override;
};

}  // namespace vdiskfs::ext4
