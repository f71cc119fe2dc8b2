#pragma once
// The superblock and the group descriptor table, written once at build
// time from the finished plan (primary copy and sparse_super backups).
#include <cstdint>
#include <vector>

#include "core/fs/ext4/ext4_plan.h"

namespace vdiskfs::ext4 {

// Writes the 1024-byte superblock as stored in group `group`.
void write_superblock(const Plan& plan, uint32_t group, uint8_t* out);

// Returns the group descriptor table: gdt_blocks * 4096 bytes.
std::vector<uint8_t> make_group_descriptors(const Plan& plan);

}  // namespace vdiskfs::ext4
