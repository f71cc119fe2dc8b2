#pragma once
// `vdiskfs mount SOURCE MOUNTPOINT`: build the disk, expose it, serve.
#include <string>
#include <vector>

#include "fuse/cli/disk_setup.h"

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
  std::vector<std::string> fuse_options;
};

// The default delta folder of a disk named `name` over the canonical
// `source_path`: the state folder's <name>-<hash of the source and --at>.
std::string default_disk_delta_dir(const std::string& name, const LayoutArgs& layout, const std::string& source_path);

// Runs `vdiskfs mount`: builds the disk, exposes its files and serves them
// until unmounted. Returns the exit status; throws Error on a refusal.
int mount_command(const MountArgs& args);

// Runs `vdiskfs stats MOUNTPOINT`: prints the mount's counters (the JSON
// of its root's user.vdiskfs.stats attribute, or a table of them).
int stats_command(const std::string& mount_point, bool json);

}  // namespace vdiskfs
