#pragma once
// Directory blocks, slow-symlink blocks and xattr blocks, computed from the plan on each
// read instead of being stored: a tree of many small directories would
// otherwise cost 4 KiB of memory per directory.
#include <memory>

#include "core/fs/ext4/ext4_plan.h"
#include "core/image/image.h"

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

// One generated block per node of one of the plan's lists: slow-symlink
// targets (Plan::symlink_blocks), xattr blocks (Plan::xattr_block_nodes).
class NodeBlocksImage final : public Image {
 public:
  using NodeList = std::vector<uint32_t> Plan::*;
  using WriteBlock = void (*)(const Plan& plan, uint32_t node, uint8_t* block);
  NodeBlocksImage(std::shared_ptr<const Plan> plan, NodeList nodes, WriteBlock write)
      : plan_(std::move(plan)), nodes_(nodes), write_(write) {}
  uint64_t size() const override { return uint64_t(((*plan_).*nodes_).size()) * kBlockSize; }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override;

 private:
  std::shared_ptr<const Plan> plan_;
  NodeList nodes_;
  WriteBlock write_;
};

// The WriteBlock functions of the two lists.
void write_symlink_block(const Plan& plan, uint32_t node, uint8_t* block);
void write_node_xattr_block(const Plan& plan, uint32_t node, uint8_t* block);

}  // namespace vdiskfs::ext4
