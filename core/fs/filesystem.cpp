#include "core/fs/filesystem.h"

#include "core/fs/ext4/ext4_filesystem.h"
#include "core/image/error.h"

namespace vdiskfs {
namespace {

// The filesystems vdiskfs synthesizes: one row each.
constexpr Filesystem kFilesystems[] = {
    {"ext4", ext4::kMaxLabelBytes, ext4::volume_layout, ext4::make_volume},
};

}  // namespace

const Filesystem& filesystem_named(std::string_view name) {
  for (const Filesystem& fs : kFilesystems)
    if (fs.name == name) return fs;
  fail("unknown filesystem '{}'", name);
}

}  // namespace vdiskfs
