#pragma once
// The container formats a mount exposes: the names chosen with --formats
// and the files built for them, both from the table (formats/format_table.h).
#include <string>
#include <vector>

#include "formats/container.h"

namespace vdiskfs {

// Parses "vmdk,vhd" (or "all"): the names of the table's formats, each
// once, in the order given; throws Error naming an unknown format.
std::vector<std::string> parse_formats(const std::string& list);

// Builds the files of the chosen formats in the table's order. A format
// whose limit is below the disk is left out with a warning, or throws
// Error, as its row says.
std::vector<ContainerFile> build_containers(const ContainerInput& in, const std::vector<std::string>& formats);

}  // namespace vdiskfs
