#include "core/fs/filesystem.h"

#include <fmt/core.h>

#include "core/fs/ext4/ext4_filesystem.h"
#include "core/fs/fat/fat_filesystem.h"
#include "core/image/error.h"

namespace vdiskfs {
namespace {

// The filesystems vdiskfs synthesizes: one row each.
constexpr Filesystem kFilesystems[] = {
    {"ext4", ext4::kMaxLabelBytes, parse_uuid, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", ext4::volume_layout,
     ext4::make_volume},
    {"fat32", fat::kMaxLabelBytes, fat::parse_volume_id, "XXXX-XXXX", fat::volume_layout, fat::make_volume},
};

}  // namespace

std::string filesystem_names() {
  std::string out;
  for (const Filesystem& fs : kFilesystems) out += fmt::format("{}{}", out.empty() ? "" : ", ", fs.name);
  return out;
}

const Filesystem& filesystem_named(std::string_view name) {
  for (const Filesystem& fs : kFilesystems)
    if (fs.name == name) return fs;
  fail("unknown filesystem '{}' (vdiskfs makes {})", name, filesystem_names());
}

}  // namespace vdiskfs
