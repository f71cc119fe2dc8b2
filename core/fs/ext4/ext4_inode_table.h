#pragma once
// The inode tables of all groups (contiguous under flex_bg) as an Image
// whose bytes are computed from the plan on each read: 256 bytes per inode,
// nothing stored, so a million files cost no inode-table memory.
#include <memory>

#include "core/fs/ext4/ext4_plan.h"
#include "core/image/image.h"

namespace vdiskfs::ext4 {

class InodeTableImage final : public Image {
 public:
  explicit InodeTableImage(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {}
  uint64_t size() const override { return plan_->geo.inodes_count() * kInodeSize; }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override;
  // Only the inodes in use hold bytes; the rest of the tables are zeros.
  void data_ranges(std::vector<ByteRange>& out) const override {
    out.push_back({0, uint64_t(plan_->inodes.last_used()) * kInodeSize});
  }
  // Writes the 256 bytes of inode `ino` (1-based).
  void write_inode(uint64_t ino, uint8_t* out) const;

 private:
  std::shared_ptr<const Plan> plan_;
};

}  // namespace vdiskfs::ext4
