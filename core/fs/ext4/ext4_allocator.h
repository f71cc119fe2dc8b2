#pragma once
// Hands out blocks in increasing order, stepping around the superblock and
// GDT backups at the start of sparse_super groups, and records every run it
// hands out so the bitmaps can be computed from the record.
#include <cstdint>
#include <vector>

#include "core/fs/ext4/ext4_plan.h"

namespace vdiskfs::ext4 {

class Allocator {
 public:
  Allocator(uint64_t start, uint32_t gdt_blocks, std::vector<BlockRun>* record)
      : cursor_(start), gdt_blocks_(gdt_blocks), record_(record) {}

  // Appends `count` blocks to `runs`, split where backups interrupt.
  void take(uint64_t count, std::vector<BlockRun>& runs);
  // One run of `count` blocks (< a group): skips past a backup that would
  // split it, leaving the blocks before it free.
  uint32_t take_contiguous(uint32_t count);
  uint64_t cursor() const { return cursor_; }

 private:
  uint64_t next_backup_group(uint64_t group);
  void note(uint64_t start, uint64_t count);

  uint64_t cursor_;
  uint32_t gdt_blocks_;
  std::vector<BlockRun>* record_;
  uint64_t cached_group_ = ~0ull, cached_next_ = 0;
};

}  // namespace vdiskfs::ext4
