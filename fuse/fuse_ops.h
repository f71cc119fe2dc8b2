#pragma once
// The FUSE front end: serves a FileTable (one folder of files) or a
// DiskTable (a folder per disk, changing while mounted) through libfuse3's
// multithreaded loop. The only place where core Status values become errno.
#include <functional>
#include <string>
#include <vector>

#include "fuse/disk_table.h"
#include "fuse/file_table.h"

namespace vdiskfs {

struct FuseSettings {
  std::string mount_point;
  std::string fs_name;             // shown in /proc/mounts
  bool foreground = false;
  bool read_only = true;
  std::vector<std::string> extra_options;  // -o passthrough
  unsigned max_threads = 16;
  unsigned readahead_kib = 4096;  // 0: leave the kernel's default
  bool direct_io = false;
  // The value of the extended attribute kStatsXattr of the mount's root,
  // made on each read (`vdiskfs stats` reads it: JSON); empty: none.
  std::function<std::string()> stats;
  // The control attribute kRestoreXattr of each exposed file (by its index
  // in the table): reading it gives `restore_status` (JSON), setting it
  // passes the value to `restore_request`, which returns "" or why it was
  // refused (setxattr then fails with EINVAL). Null: no such attribute.
  std::function<std::string(size_t file)> restore_status;
  std::function<std::string(size_t file, const std::string& request)> restore_request;
  // Called once the mount answers (FUSE's INIT reached the daemon, after
  // daemonizing): where threads may start and systemd hears READY. Null: none.
  std::function<void()> on_ready;
  // A DiskTable mount: called on a FUSE thread each time an open of a file
  // of folder `folder` starts (change +1) or is released (-1); opens of a
  // folder dropped meanwhile count under its name too. Must neither block
  // nor throw. Null: none.
  std::function<void(const std::string& folder, int change)> open_changed;
};

// The extended attribute of each exposed file through which `vdiskfs
// restore` starts, stops, finishes and watches a restore of it.
inline constexpr const char* kRestoreXattr = "user.vdiskfs.restore";

// The extended attribute of the mount's root that holds its counters.
inline constexpr const char* kStatsXattr = "user.vdiskfs.stats";

// Mounts, daemonizes unless foreground, and serves until unmounted.
// Returns the process exit code.
int serve_fuse(const FileTable& files, const FuseSettings& settings);

// The same for a DiskTable: MOUNTPOINT/<folder>/<file>. Folders may be put
// and dropped while it serves; lookups are not cached by the kernel, so a
// change shows at once, and the pages the kernel cached for a folder's
// files are dropped when it leaves or is replaced (its change hook, set
// while mounted). Returns the process exit code.
int serve_fuse(DiskTable& disks, const FuseSettings& settings);

}  // namespace vdiskfs
