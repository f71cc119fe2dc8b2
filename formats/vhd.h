#pragma once
// VHD per Microsoft's VHD Image Format Specification (big-endian fields,
// one's-complement checksums, timestamps from 2000-01-01, CHS geometry by
// the spec's algorithm):
// - dynamic (<name>.vhd): footer copy, dynamic disk header, BAT, then for
//   each 2 MiB block that holds data a sector bitmap and the block, footer;
// - fixed (<name>-fixed.vhd): the raw disk followed by a footer.
// Disks above 2040 GiB get no VHD (the format's limit).
#include <optional>

#include "formats/container.h"

namespace vdiskfs {

inline constexpr uint64_t kVhdMaxBytes = 2040ull << 30;

std::optional<ContainerFile> build_vhd_dynamic(const ContainerInput& in);
std::optional<ContainerFile> build_vhd_fixed(const ContainerInput& in);

}  // namespace vdiskfs
