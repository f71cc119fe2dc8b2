#pragma once
// Volume synthesizers behind one interface: each turns a source's tree into
// the bytes of one filesystem, and is chosen by name from one table
// (filesystem.cpp). ext4 today; a new filesystem (vfat, swap) is a file of
// its own under core/fs/ plus one row of that table.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/image/identity.h"
#include "core/image/image.h"
#include "core/image/size_parse.h"
#include "core/source/source.h"

namespace vdiskfs {

// A fact for `vdiskfs info` and logs: (name, value rendered as text).
using Fact = std::pair<std::string, std::string>;

// What shapes a volume, whatever its filesystem.
struct VolumeOptions {
  std::optional<Uuid> uuid;  // the filesystem UUID (big-endian RFC 4122 bytes); default: derived from the identity
  std::string label;         // the volume label; at most Filesystem::max_label_bytes
  SizeSpec free_space{0, 20, true};        // room left for writes: bytes, or a percentage of data + metadata
  uint64_t min_free_bytes = 256ull << 20;  // at least this much room for writes, bytes
  int64_t timestamp_ns = 0;  // the volume's own times, nanoseconds since 1970 (stable for a source)
  // What the filesystem cannot hold fails the build (Error) instead of a warning.
  bool strict = false;
  // Entries a filesystem cannot hold at all (FAT32: symlinks, devices,
  // files of 4 GiB or more, names FAT forbids) are left out with a warning
  // listing them, instead of failing the build.
  bool skip_unsupported = false;
  bool local_time = false;      // FAT32: entry times in local time (as DOS and Windows), not UTC
  uint64_t first_sector = 0;    // the partition's first LBA on its disk (FAT32's hidden sectors)
  uint32_t cluster_bytes = 0;   // FAT32: bytes per cluster (512..32768, a power of two); 0 = the specification's table
};

// A synthesized volume and what it reports about itself.
struct Volume {
  std::shared_ptr<const Image> image;  // the volume's bytes; reads file data from the source
  std::string type;                    // the filesystem's name, as blkid's TYPE ("ext4")
  Uuid uuid{};                         // big-endian RFC 4122 bytes, as blkid shows them
  std::string uuid_text;               // the UUID as blkid prints it ("01234567-89ab-...", FAT "5A1B-2C3D")
  std::string label;
  uint64_t block_size = 0;   // bytes per block
  uint64_t blocks = 0;       // the volume's size, in blocks
  uint64_t free_blocks = 0;  // blocks free for writes
  uint64_t inodes = 0;       // inodes in all (0: a filesystem without inodes)
  uint64_t free_inodes = 0;  // inodes free for new files
  // The filesystem's own facts, in a stable order ("ext4_blocks", ...).
  std::vector<Fact> facts;
};

// One row of the filesystem table.
struct Filesystem {
  std::string_view name;   // what users type to --fs: "ext4", "fat32"
  size_t max_label_bytes;  // the longest label the filesystem stores
  // Parses a UUID as users type it for this filesystem ("01234567-89ab-...";
  // FAT's volume serial "5A1B-2C3D", kept in the first 4 bytes); false
  // when `text` is not one.
  bool (*parse_uuid)(std::string_view text, Uuid& out);
  std::string_view uuid_form;  // the form parse_uuid takes, for messages
  // A Linux root can be this filesystem: its UUID or label may come from
  // the "/" entry of the backup's fstab (ext4; never FAT).
  bool linux_root;
  // Takes the FAT options: local times, leaving out what it cannot hold at
  // all, the cluster size (VolumeOptions::local_time, skip_unsupported,
  // cluster_bytes); other filesystems refuse them.
  bool fat_options;
  // The options that shape the volume's bytes, as a canonical text for the
  // disk's identity ("ext4;uuid=derived;label=;..."). Throws Error when
  // the filesystem cannot take them (a label too long).
  std::string (*layout)(const VolumeOptions& options);
  // Builds the volume from `source` (which must outlive it); what the
  // options leave open (UUID, hash seeds) derives from `identity`, the
  // disk's identity. Throws Error on what the filesystem cannot hold
  // under options.strict.
  Volume (*build)(const Source& source, const VolumeOptions& options, const Identity& identity);
};

// The row of the filesystem named `name` ("ext4"); throws Error for a name
// the table does not hold.
const Filesystem& filesystem_named(std::string_view name);
// The names of the table's rows, for help texts: "ext4, fat32".
std::string filesystem_names();

}  // namespace vdiskfs
