#pragma once
// `vdiskfs serve MOUNTPOINT`: every disk of a catalog in one mount, a
// folder each (MOUNTPOINT/NAME/NAME.img, NAME.vmdk, ...), following the
// catalog while mounted.
#include <string>
#include <vector>

namespace vdiskfs {

struct ServeArgs {
  std::string mount_point;
  std::string catalog;  // "" = default_catalog_path()
  std::string formats = "all";
  bool foreground = false;
  bool read_only = false;  // every disk read-only: no deltas
  bool quiet = false;
  std::string log_file;
  unsigned readahead_kib = 4096;
  bool direct_io = false;
  unsigned jobs = 4;  // scans at once
  std::vector<std::string> fuse_options;
};

// Runs `vdiskfs serve`: mounts, then builds each disk of the catalog on a
// pool of `jobs` threads (a folder appears when its scan ends; a disk that
// fails shows a folder holding only ERROR, its message), re-reads the
// catalog every second (and when the file changes) to add and drop
// folders, and records in the catalog which disks it serves and how many
// of their files are open. Returns the exit status; throws Error on a
// refusal before mounting (mount point, catalog file).
int serve_command(const ServeArgs& args);

}  // namespace vdiskfs
