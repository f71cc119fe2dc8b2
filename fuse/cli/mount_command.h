#pragma once
// `vdiskfs mount SOURCE MOUNTPOINT`: build the disk, expose it, serve.
#include <string>
#include <vector>

#include "core/restore/restore_manager.h"
#include "fuse/cli/disk_setup.h"
#include "fuse/file_table.h"

namespace vdiskfs {

struct MountArgs {
  LayoutArgs layout;
  std::string mount_point;
  std::string name;  // "" = the source's base name
  std::string formats = "all";
  bool foreground = false;
  std::string log_file;
  unsigned readahead_kib = 4096;
  bool direct_io = false;
  bool read_only = false;
  bool delta_memory = false;
  bool discard_delta = false;
  std::string delta_dir;  // "" = the default state folder
  std::vector<std::string> delta_layers;  // frozen layer folders under the delta, bottom first (catalog clones)
  std::vector<std::string> fuse_options;
};

// The default delta folder of a disk named `name` over the canonical
// `source_path`: the state folder's <name>-<hash of the source and --at>.
std::string default_disk_delta_dir(const std::string& name, const LayoutArgs& layout, const std::string& source_path);

// A disk built and exposed: its files (NAME.img, NAME.vmdk, ...) over
// their deltas, and what they read from, which must outlive them.
struct ExposedDisk {
  PreparedDisk prepared;
  std::string name;  // the files' base name
  FileTable files;
  std::vector<std::shared_ptr<RestoreSlot>> restores;  // by file index; none on --read-only
};

// What `vdiskfs mount` serves for `args` (args.mount_point only names the
// files in log lines): scans the source, builds the disk and its container
// files, opens their deltas. Throws Error with a clear message.
ExposedDisk expose_disk(const MountArgs& args);

// Runs `vdiskfs mount`: builds the disk, exposes its files and serves them
// until unmounted. Returns the exit status; throws Error on a refusal.
int mount_command(const MountArgs& args);

// Runs `vdiskfs stats MOUNTPOINT`: prints the mount's counters (the JSON
// of its root's user.vdiskfs.stats attribute, or a table of them).
int stats_command(const std::string& mount_point, bool json);

}  // namespace vdiskfs
