#pragma once
// VMDK per VMware's Virtual Disk Format 1.1:
// - hosted monolithicSparse (<name>.vmdk): sparse extent header, embedded
//   descriptor with free room after it, redundant and primary grain
//   directories and grain tables, 64 KiB grains, only grains with data;
// - ESXi style (<name>-esx.vmdk): a text descriptor naming the flat extent
//   <name>-flat.vmdk, which is the raw guest disk itself.
#include <string>

#include "formats/container.h"

namespace vdiskfs {

ContainerFile build_vmdk_sparse(const ContainerInput& in);
// The -esx.vmdk descriptor; the flat extent is exposed as "<name>-flat.vmdk".
ContainerFile build_vmdk_esx_descriptor(const ContainerInput& in);

}  // namespace vdiskfs
