#include "core/fs/filesystem.h"

#include <fmt/core.h>

#include "core/fs/ext4/ext4_filesystem.h"
#include "core/fs/fat/fat_filesystem.h"
#include "core/image/named_rows.h"

namespace vdiskfs {
namespace {

// The filesystems vdiskfs synthesizes: one row each.
constexpr Filesystem kFilesystems[] = {
    {"ext4", ext4::kMaxLabelBytes, parse_uuid, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", true, false, ext4::volume_layout,
     ext4::make_volume},
    {"fat32", fat::kMaxLabelBytes, fat::parse_volume_id, "XXXX-XXXX", false, true, fat::volume_layout, fat::make_volume},
};

}  // namespace

std::string filesystem_names() { return row_names(kFilesystems); }

const Filesystem& filesystem_named(std::string_view name) {
  return row_named(kFilesystems, name, "filesystem", "vdiskfs makes");
}

}  // namespace vdiskfs
