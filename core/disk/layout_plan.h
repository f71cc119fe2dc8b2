#pragma once
// The layout of a whole-server disk, planned from the backup's fstab
// (issue #15; the rules are the README's "Layout from fstab"): one volume
// per local entry, the root first and the others in fstab order; which
// lines the guest's etc/fstab shows adapted, and why; what is reported.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/disk/fstab.h"
#include "core/partition/placement.h"
#include "core/source/tree.h"

namespace vdiskfs {

// What a planned volume is made as.
enum class VolumeKind { ext4, fat32, swap };

// "ext4", "fat32", "swap": the filesystem table's row names, and swap.
std::string_view volume_kind_name(VolumeKind kind);

// One volume of the disk, as the fstab plans it.
struct PlannedVolume {
  VolumeKind kind = VolumeKind::ext4;
  std::string mount_point;  // "/", "/boot", "/boot/efi"; "" for swap
  // The id its fstab line names, as written there (an ext4 or swap UUID, a
  // FAT serial "5A1B-2C3D"); "" when the volume gets one derived from the
  // disk's identity.
  std::string fs_id;
  std::string label;  // from LABEL=; "" for none
  PartitionRole role = PartitionRole::linux_filesystem;
  size_t line = 0;              // its fstab line (1-based); 0: a root the fstab does not name
  bool missing_folder = false;  // the mount point is not in the backup: an empty volume, an empty folder in its parent
};

// An fstab line the guest sees changed, and why.
struct LineChange {
  size_t line = 0;  // 1-based
  // adapted: it names volume `volume` by the UUID the volume got, with
  // fs_vfstype `type` and fs_mntops `options`; disabled: commented out.
  enum class Kind { adapted, disabled } kind = Kind::adapted;
  size_t volume = 0;
  std::string type, options;
  std::string reason;  // for the comment above it, `vdiskfs info` and the log
};

// A plan: the volumes, the changed lines and what to report.
struct LayoutPlan {
  std::string origin;  // where the fstab came from ("etc/fstab of directory /srv/web01", a file)
  std::string text;    // the fstab as read
  std::vector<FstabLine> lines;
  std::vector<PlannedVolume> volumes;  // the root first, then in fstab order
  std::vector<LineChange> changes;     // in line order
  std::vector<std::string> warnings;   // each names its line and the rule applied
};

struct PlanOptions {
  bool fstab_ids = true;  // take UUIDs and labels from the lines; false: every volume's id is derived
  std::string origin;     // for messages
};

// Plans the disk of `tree` from fstab `text`. Never fails: what cannot be
// understood is kept as it is and reported in warnings.
LayoutPlan plan_layout(std::string_view text, const Tree& tree, const PlanOptions& options);

// The guest's etc/fstab: every line as written, except the changed ones,
// each preceded by "# vdiskfs: <reason>" and its original as a comment;
// `uuid_text[i]` is the UUID (FAT: the serial) volume i got.
std::string adapted_fstab(const LayoutPlan& plan, const std::vector<std::string>& uuid_text);

// What of the plan shapes the disk, as a canonical text for its identity.
std::string plan_identity_text(const LayoutPlan& plan);

}  // namespace vdiskfs
