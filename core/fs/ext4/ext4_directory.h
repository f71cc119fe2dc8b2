#pragma once
// ext4 linear directories: how a directory's entries pack into 4 KiB
// blocks (planning) and the bytes of one block (generation). Both walk the
// same entry list, so the plan and the bytes always agree.
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/fs/ext4/ext4_format.h"
#include "core/fs/ext4/ext4_format_dirent.h"
#include "core/fs/ext4/ext4_plan.h"

namespace vdiskfs::ext4 {

struct DirEntry {
  uint32_t ino;
  std::string_view name;
  DirFileType type;
};

// Entry `index` of directory `dir` (a node or kLostFoundDir): ".", "..",
// then lost+found in the root when synthesized, then the children.
DirEntry directory_entry(const Plan& plan, uint32_t dir, uint32_t index);

// Appends one DirBlockRef per block of `dir` and returns the block count.
uint32_t plan_directory_blocks(const Plan& plan, uint32_t dir, std::vector<DirBlockRef>& out);

// Writes the block that holds entries [first, end) of `dir`.
void write_directory_block(const Plan& plan, uint32_t dir, uint32_t first, uint32_t end,
                           uint8_t* block);

DirFileType file_type_of(uint32_t mode);

}  // namespace vdiskfs::ext4
