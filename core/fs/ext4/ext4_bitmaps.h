#pragma once
// Block and inode bitmaps of all groups (contiguous under flex_bg),
// computed from the plan on each read. Padding bits past the end of the
// last group and past inodes_per_group are set, as e2fsck expects.
#include <algorithm>
#include <cstring>
#include <memory>

#include "core/fs/ext4/ext4_plan.h"
#include "core/image/image.h"

namespace vdiskfs::ext4 {

class BlockBitmapsImage final : public Image {
 public:
  explicit BlockBitmapsImage(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {}
  uint64_t size() const override { return uint64_t(plan_->geo.groups) * kBlockSize; }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override;

 private:
  void write_group(uint32_t group, uint8_t* block) const;
  std::shared_ptr<const Plan> plan_;
};

class InodeBitmapsImage final : public Image {
 public:
  explicit InodeBitmapsImage(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {}
  uint64_t size() const override { return uint64_t(plan_->geo.groups) * kBlockSize; }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override;

 private:
  void write_group(uint32_t group, uint8_t* block) const;
  std::shared_ptr<const Plan> plan_;
};

// Reads [offset, offset+len) of a sequence of 4 KiB blocks produced by
// `write_block(index, block)`.
template <typename WriteBlock>
Status read_generated_blocks(uint64_t offset, uint8_t* buf, size_t len, WriteBlock write_block) {
  alignas(8) uint8_t tmp[kBlockSize];
  uint64_t pos = offset;
  const uint64_t end = offset + len;
  while (pos < end) {
    const uint64_t index = pos / kBlockSize, inner = pos % kBlockSize;
    const uint64_t n = std::min<uint64_t>(kBlockSize - inner, end - pos);
    uint8_t* out = buf + (pos - offset);
    if (inner == 0 && n == kBlockSize) {
      write_block(index, out);
    } else {
      write_block(index, tmp);
      std::memcpy(out, tmp + inner, n);
    }
    pos += n;
  }
  return Status::ok;
}

}  // namespace vdiskfs::ext4
