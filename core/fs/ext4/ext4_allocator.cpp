#include "core/fs/ext4/ext4_allocator.h"

#include <algorithm>

#include "core/image/error.h"

namespace vdiskfs::ext4 {

uint64_t Allocator::next_backup_group(uint64_t group) {
  if (group != cached_group_) {  // cached: called for every file
    cached_group_ = group;
    cached_next_ = group + 1;
    while (!Geometry::has_backup(uint32_t(cached_next_))) ++cached_next_;
  }
  return cached_next_;
}

void Allocator::note(uint64_t start, uint64_t count) {
  if (cursor_ + count > 0xffffffffull) fail("the volume would exceed 2^32 blocks (16 TiB)");
  if (!record_) return;
  if (!record_->empty() && uint64_t(record_->back().start) + record_->back().count == start &&
      record_->back().count + count <= 0xffffffffull)
    record_->back().count += uint32_t(count);
  else
    record_->push_back({uint32_t(start), uint32_t(count)});
}

void Allocator::take(uint64_t count, std::vector<BlockRun>& runs) {
  while (count > 0) {
    const uint64_t group = cursor_ / kBlocksPerGroup;
    const uint64_t group_start = group * kBlocksPerGroup;
    if (Geometry::has_backup(uint32_t(group)) && cursor_ < group_start + 1 + gdt_blocks_) {
      cursor_ = group_start + 1 + gdt_blocks_;
      continue;
    }
    const uint64_t n = std::min(count, next_backup_group(group) * kBlocksPerGroup - cursor_);
    note(cursor_, n);
    if (!runs.empty() && uint64_t(runs.back().start) + runs.back().count == cursor_ &&
        runs.back().count + n <= 0xffffffffull) {
      runs.back().count += uint32_t(n);
    } else {
      runs.push_back({uint32_t(cursor_), uint32_t(n)});
    }
    cursor_ += n;
    count -= n;
  }
}

uint32_t Allocator::take_contiguous(uint32_t count) {
  while (true) {
    const uint64_t group = cursor_ / kBlocksPerGroup;
    const uint64_t group_start = group * kBlocksPerGroup;
    if (Geometry::has_backup(uint32_t(group)) && cursor_ < group_start + 1 + gdt_blocks_) {
      cursor_ = group_start + 1 + gdt_blocks_;
      continue;
    }
    const uint64_t limit = next_backup_group(group) * kBlocksPerGroup;
    if (cursor_ + count > limit) {  // would be split: start after the backup
      cursor_ = limit;
      continue;
    }
    const uint32_t start = uint32_t(cursor_);
    note(cursor_, count);
    cursor_ += count;
    return start;
  }
}

}  // namespace vdiskfs::ext4
