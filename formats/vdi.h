#pragma once
// VDI as VirtualBox writes it (header version 1.1, 1 MiB blocks): pre-header
// text and signature, header, block map, data area aligned to 1 MiB. Blocks
// without data are marked "zero" (0xFFFFFFFE), not "free".
#include "formats/container.h"

namespace vdiskfs {

ContainerFile build_vdi(const ContainerInput& in);

}  // namespace vdiskfs
