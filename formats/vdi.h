#pragma once
// VDI as VirtualBox writes it (header version 1.1, 1 MiB blocks): pre-header
// text and signature, header, block map, data area aligned to 1 MiB. Blocks
// without data are marked "zero" (0xFFFFFFFE), not "free".
#include <string_view>

#include "formats/container.h"

namespace vdiskfs {

// Bytes of a block, the allocation unit.
inline constexpr uint64_t kVdiBlockBytes = 1ull << 20;
// The largest disk a VDI holds: block numbers stay below the block map's
// markers (0xfffffff0 blocks).
inline constexpr uint64_t kVdiMaxBytes = 0xfffffff0ull * kVdiBlockBytes;

// The VDI "<in.name><suffix>"; throws Error for a disk above kVdiMaxBytes.
ContainerFile build_vdi(const ContainerInput& in, std::string_view suffix);

}  // namespace vdiskfs
