#pragma once
// `vdiskfs export SOURCE OUTPUT` writes the raw disk to a (sparse) file;
// `vdiskfs info SOURCE` prints what the disk would be and which container
// formats it fits. Both build the same disk as `mount` does, without FUSE.
#include <string>

#include "fuse/cli/disk_setup.h"

namespace vdiskfs {

struct ExportArgs {
  LayoutArgs layout;
  std::string output;
  // A format of the table (`img` or `raw`, `vmdk`, `vmdk-flat`, `vhd`,
  // `vhd-fixed`, `vdi`, `qcow2`); "" = from the output's suffix, else raw.
  std::string format;
  unsigned jobs = 4;  // reads in flight
  bool json = false;  // progress and the result as JSON lines on stdout
};

// Writes the disk, or its container file of args.format, to args.output (a
// new file): only the data ranges are read and written, all-zero blocks stay
// holes; several reads in flight; progress on a terminal. Returns the exit
// status; throws Error (naming the file and offset) when it cannot, after
// removing the partial output.
int export_command(const ExportArgs& args);
// Prints the facts of the disk and, for each container format of the
// table, its files and whether the disk is within its limit; as JSON with
// `json`. Returns the exit status; throws Error when it cannot.
int info_command(const LayoutArgs& args, bool json);

}  // namespace vdiskfs
