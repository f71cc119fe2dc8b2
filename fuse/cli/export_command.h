#pragma once
// `vdiskfs export SOURCE OUTPUT` writes the raw disk to a (sparse) file;
// `vdiskfs info SOURCE` prints what the disk would be. Both build the same
// disk as `mount` does, without FUSE.
#include <string>

#include "fuse/cli/disk_setup.h"

namespace vdiskfs {

struct ExportArgs {
  LayoutArgs layout;
  std::string output;
};

int export_command(const ExportArgs& args);
int info_command(const LayoutArgs& args, bool json);

}  // namespace vdiskfs
