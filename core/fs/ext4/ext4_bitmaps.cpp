#include "core/fs/ext4/ext4_bitmaps.h"

#include <algorithm>
#include <cstring>

namespace vdiskfs::ext4 {
namespace {

// Sets bits [from, to) of a bitmap.
void set_bits(uint8_t* bits, uint64_t from, uint64_t to) {
  while (from < to && (from & 7)) {
    bits[from >> 3] |= uint8_t(1u << (from & 7));
    ++from;
  }
  const uint64_t whole_end = to & ~uint64_t(7);
  if (from < whole_end) {
    std::memset(bits + (from >> 3), 0xff, (whole_end - from) >> 3);
    from = whole_end;
  }
  while (from < to) {
    bits[from >> 3] |= uint8_t(1u << (from & 7));
    ++from;
  }
}

}  // namespace

void BlockBitmapsImage::write_group(uint32_t group, uint8_t* block) const {
  std::memset(block, 0, kBlockSize);
  const Plan& plan = *plan_;
  const uint64_t first = uint64_t(group) * kBlocksPerGroup;
  const uint64_t last = first + plan.geo.group_blocks(group);
  // Used runs are few (the allocated prefix plus backups): scan them.
  for (const BlockRun& r : plan.used) {
    const uint64_t a = std::max<uint64_t>(r.start, first);
    const uint64_t b = std::min<uint64_t>(uint64_t(r.start) + r.count, last);
    if (a < b) set_bits(block, a - first, b - first);
  }
  set_bits(block, last - first, kBlocksPerGroup);  // past the end of the volume
}

Status GroupBitmapsImage::read(uint64_t offset, uint8_t* buf, size_t len) const {
  return read_generated_units<kBlockSize>(offset, buf, len, [this](uint64_t index, uint8_t* block) {
    write_group(uint32_t(index), block);
  });
}

void InodeBitmapsImage::write_group(uint32_t group, uint8_t* block) const {
  std::memset(block, 0, kBlockSize);
  const Plan& plan = *plan_;
  const uint64_t ipg = plan.geo.inodes_per_group;
  const uint64_t first_ino = uint64_t(group) * ipg + 1;
  const uint64_t last_used = plan.inodes.last_used();
  if (last_used >= first_ino) set_bits(block, 0, std::min<uint64_t>(last_used - first_ino + 1, ipg));
  set_bits(block, ipg, kBlockSize * 8);
}


}  // namespace vdiskfs::ext4
