#pragma once
// Turns a scanned source into a guest disk: identity, ext4 volume, GPT.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/fs/ext4/ext4_volume.h"
#include "core/image/identity.h"
#include "core/image/image.h"
#include "core/image/size_parse.h"
#include "core/source/source.h"

namespace vdiskfs {

struct DiskOptions {
  std::optional<Uuid> fs_uuid;  // default: derived from the identity
  std::string label;            // ext4 volume label, up to 16 bytes
  SizeSpec free_space{0, 20, true};
  uint64_t min_free_bytes = 256ull << 20;
  // A 1 MiB BIOS boot partition (GPT entry 2, after the ext4) where
  // grub-install --target=i386-pc puts its core image, so that a
  // bootloader written into the delta can boot the disk without -kernel.
  bool bios_boot = false;
  // What ext4 cannot hold (ext4::fit_tree, xattrs that fit nowhere) fails
  // the build instead of a warning.
  bool strict = false;
};

struct Disk {
  std::shared_ptr<const Image> image;  // the raw guest disk
  Identity identity;
  std::string layout;  // the layout options that went into the identity
  Uuid fs_uuid{};
  uint64_t partition_offset = 0;
  uint64_t partition_size = 0;
  ext4::VolumeInfo volume;
  uint64_t allocated_bytes = 0;  // bytes of the disk that hold data or metadata
  int64_t timestamp_ns = 0;
};

// The newest mtime or ctime in the tree that is not in the future: the
// disk's own timestamp, stable for a given source.
int64_t newest_past_time(const Tree& tree);

// Facts about a disk for `vdiskfs info` and logs, as (name, value) pairs in
// a stable order; values are numbers or strings rendered as text.
std::vector<std::pair<std::string, std::string>> disk_facts(const Disk& disk, const Tree& tree);

// The source must outlive the disk.
Disk build_disk(const Source& source, const DiskOptions& options);

}  // namespace vdiskfs
