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
};

// Writes the raw disk to args.output (a new file; holes where the disk is
// zero). Returns the exit status; throws Error when it cannot.
int export_command(const ExportArgs& args);
// Prints the facts of the disk and, for each container format of the
// table, its files and whether the disk is within its limit; as JSON with
// `json`. Returns the exit status; throws Error when it cannot.
int info_command(const LayoutArgs& args, bool json);

}  // namespace vdiskfs
