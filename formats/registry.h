#pragma once
// The container formats a mount can expose, by the names users give to
// --formats, and the function that builds the chosen ones for a disk.
#include <string>
#include <vector>

#include "formats/container.h"

namespace vdiskfs {

// img, vmdk, vmdk-flat, vhd, vhd-fixed, vdi, qcow2.
const std::vector<std::string>& all_format_names();

// Parses "vmdk,vhd" (or "all"); throws Error naming an unknown format.
std::vector<std::string> parse_formats(const std::string& list);

// Builds the chosen formats in a stable order; formats that do not fit the
// disk (VHD above 2040 GiB) are left out with a log line.
std::vector<ContainerFile> build_containers(const ContainerInput& in, const std::vector<std::string>& formats);

}  // namespace vdiskfs
