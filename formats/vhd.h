#pragma once
// VHD per Microsoft's VHD Image Format Specification (big-endian fields,
// one's-complement checksums, timestamps from 2000-01-01, CHS geometry by
// the spec's algorithm):
// - dynamic: footer copy, dynamic disk header, BAT, then for each 2 MiB
//   block that holds data a sector bitmap and the block, footer;
// - fixed: the raw disk followed by a footer.
#include <string_view>

#include "formats/container.h"

namespace vdiskfs {

// The largest disk a VHD holds: 2040 GiB (the format's limit).
inline constexpr uint64_t kVhdMaxBytes = 2040ull << 30;
// Bytes of a dynamic VHD's block, its allocation unit.
inline constexpr uint64_t kVhdBlockBytes = 2ull << 20;

// The dynamic VHD "<in.name><suffix>" of a disk of at most kVhdMaxBytes.
ContainerFile build_vhd_dynamic(const ContainerInput& in, std::string_view suffix);
// The fixed VHD "<in.name><suffix>" of a disk of at most kVhdMaxBytes.
ContainerFile build_vhd_fixed(const ContainerInput& in, std::string_view suffix);

}  // namespace vdiskfs
