#pragma once
// VMDK per VMware's Virtual Disk Format 1.1:
// - hosted monolithicSparse: sparse extent header, embedded descriptor with
//   free room after it, redundant and primary grain directories and grain
//   tables, 64 KiB grains, only grains with data;
// - ESXi style: a text descriptor naming the flat extent, which is the raw
//   guest disk itself.
#include <string_view>

#include "formats/container.h"

namespace vdiskfs {

// Bytes of a grain, the allocation unit of the sparse extent.
inline constexpr uint64_t kVmdkGrainBytes = 64 << 10;

// Whether the monolithicSparse file of `in` fits its 32-bit grain offsets:
// headers, tables and the grains that hold data below 2^32 sectors.
bool vmdk_sparse_fits(const ContainerInput& in);

// The monolithicSparse extent "<in.name><suffix>", whose descriptor names
// that file. Throws Error when it does not fit (see vmdk_sparse_fits).
ContainerFile build_vmdk_sparse(const ContainerInput& in, std::string_view suffix);

// The ESXi descriptor "<in.name><suffix>" naming the flat extent
// "<in.name><flat_suffix>", which is the raw disk.
ContainerFile build_vmdk_esx_descriptor(const ContainerInput& in, std::string_view suffix,
                                       std::string_view flat_suffix);

}  // namespace vdiskfs
