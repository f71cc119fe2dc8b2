#pragma once
// Directory blocks and slow-symlink blocks, computed from the plan on each
// read instead of being stored: a tree of many small directories would
// otherwise cost 4 KiB of memory per directory.
#include <memory>

#include "core/ext4/ext4_plan.h"
#include "core/image.h"

namespace vdiskfs::ext4 {

class DirectoryBlocksImage final : public Image {
 public:
  explicit DirectoryBlocksImage(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {}
  uint64_t size() const override { return uint64_t(plan_->dir_blocks.size()) * kBlockSize; }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override;
  void write_block(uint64_t index, uint8_t* block) const;

 private:
  std::shared_ptr<const Plan> plan_;
};

class SymlinkBlocksImage final : public Image {
 public:
  explicit SymlinkBlocksImage(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {}
  uint64_t size() const override { return uint64_t(plan_->symlink_blocks.size()) * kBlockSize; }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override;

 private:
  std::shared_ptr<const Plan> plan_;
};

}  // namespace vdiskfs::ext4
