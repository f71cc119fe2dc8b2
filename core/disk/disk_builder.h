#pragma once
// Turns a scanned source into a guest disk: its identity, a volume of the
// filesystem named in the options (core/fs/filesystem.h), the placement of
// the partitions and the GPT around them (core/partition).
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/disk/layout_plan.h"
#include "core/fs/filesystem.h"
#include "core/image/identity.h"
#include "core/image/image.h"
#include "core/image/size_parse.h"
#include "core/source/source.h"

namespace vdiskfs {

// What shapes a disk: its filesystem, the volume's options, its partitions.
struct DiskOptions {
  std::string filesystem = "ext4";  // a row of the filesystem table (filesystem_named)
  std::string table = "gpt";        // a row of the partition table table (partition_table_named)
  std::optional<Uuid> fs_uuid;      // default: derived from the identity
  std::string label;                // volume label, up to the filesystem's max_label_bytes
  SizeSpec free_space{0, 20, true};        // room for writes: bytes or % of data + metadata
  uint64_t min_free_bytes = 256ull << 20;  // at least this much room for writes, bytes
  // A 1 MiB BIOS boot partition (GPT entry 2, after the volume) where
  // grub-install --target=i386-pc puts its core image, so that a
  // bootloader written into the delta can boot the disk without -kernel.
  bool bios_boot = false;
  // What the filesystem cannot hold (ext4::fit_tree, xattrs that fit
  // nowhere) fails the build instead of a warning.
  bool strict = false;
  bool skip_unsupported = false;  // leave out, with a warning, entries the filesystem cannot hold at all (FAT32)
  bool local_time = false;        // FAT32: entry times in local time instead of UTC
  uint32_t cluster_bytes = 0;     // FAT32: bytes per cluster; 0 = the specification's table
  // The layout from the backup's fstab (layout_plan.h): a volume per local
  // entry; `filesystem`, `fs_uuid` and `label` are then unused. None: one
  // volume of `filesystem` (the single layout).
  std::optional<LayoutPlan> plan;
  uint64_t swap_bytes = 1ull << 30;  // each swap partition of the plan, bytes (a multiple of 4096)
};

// One partition of a disk and the volume in it.
struct DiskPartition {
  std::string mount_point;  // where the guest mounts it ("/", "/boot/efi"; "" for swap and BIOS boot)
  PartitionRole role = PartitionRole::linux_filesystem;
  Volume volume;            // its filesystem (type "swap" for swap; empty for BIOS boot)
  uint64_t offset = 0;      // bytes from the start of the disk
  uint64_t size = 0;        // bytes
  size_t fstab_line = 0;    // the fstab line it comes from (0: none)
};

// A built guest disk and what `vdiskfs info` reports about it.
struct Disk {
  std::shared_ptr<const Image> image;  // the raw guest disk
  Identity identity;   // of the tree and the layout: seeds every derived UUID
  std::string layout;  // the layout options that went into the identity
  Uuid fs_uuid{};      // the volume's filesystem UUID (volume.uuid)
  uint64_t partition_offset = 0;  // bytes from the start of the disk to the volume
  uint64_t partition_size = 0;    // bytes of the volume's partition
  Volume volume;                 // the filesystem inside the partition
  uint64_t allocated_bytes = 0;  // bytes of the disk that hold data or metadata
  int64_t timestamp_ns = 0;      // newest_past_time of the tree: the volume's own times
  std::vector<DiskPartition> partitions;  // in disk order; [0] is the volume above
  std::optional<LayoutPlan> plan;         // the fstab layout it was made from, if any
  std::string guest_fstab;                // the etc/fstab the guest sees when adapted ("" = the backup's own)
  std::vector<std::string> notes;         // what the layout did that a user should know (the ESP's BOOTX64.EFI)
  // The views of the source the volumes read through (they must live as long as the disk).
  std::vector<std::shared_ptr<const Source>> views;
};

// The newest mtime or ctime in the tree that is not in the future: the
// disk's own timestamp, stable for a given source.
int64_t newest_past_time(const Tree& tree);

// Facts about a disk for `vdiskfs info` and logs, as (name, value) pairs in
// a stable order; values are numbers or strings rendered as text.
std::vector<std::pair<std::string, std::string>> disk_facts(const Disk& disk, const Tree& tree);

// Whether `layout` (a Disk::layout, as a delta's manifest records it) is of
// the single layout, the only one before layouts from fstab.
bool single_layout_text(std::string_view layout);

// Builds the disk of `source`, which must outlive it. Throws Error on
// options the filesystem cannot take and on what it cannot hold (strict).
Disk build_disk(const Source& source, const DiskOptions& options);

}  // namespace vdiskfs
