#pragma once
// ext4's row of the filesystem table (core/fs/filesystem.h): an adapter
// from the generic volume options to ext4::build_volume and back to the
// generic Volume.
#include <cstddef>
#include <string>
#include <string_view>

#include "core/fs/filesystem.h"
#include "core/image/identity.h"
#include "core/source/source.h"

namespace vdiskfs::ext4 {

// The filesystem's name, as blkid's TYPE and in the disk's layout text.
inline constexpr std::string_view kFilesystemName = "ext4";
// The superblock's s_volume_name holds this many bytes.
inline constexpr size_t kMaxLabelBytes = 16;

// ext4's layout text for the disk's identity:
// "ext4;uuid=<uuid or derived>;label=<label>;free=<n>{%|B};min_free=<bytes>".
// Throws Error when the label is longer than kMaxLabelBytes.
std::string volume_layout(const VolumeOptions& options);

// Builds the ext4 volume; its UUID (unless given) and its directory hash
// seed derive from `identity`. Facts: ext4_blocks, ext4_free_blocks,
// ext4_inodes, ext4_free_inodes, extent_map_entries, skeleton_bytes.
Volume make_volume(const Source& source, const VolumeOptions& options, const Identity& identity);

}  // namespace vdiskfs::ext4
