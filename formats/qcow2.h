#pragma once
// qcow2 version 3 (QEMU's docs/interop/qcow2.txt): 64 KiB clusters, L1/L2
// tables, 16-bit refcounts. Layout: header | refcount table | refcount
// blocks | L1 | L2 tables (only where data is) | data clusters. Every
// cluster of the file has refcount 1, so `qemu-img check` finds no leaks.
#include <string_view>

#include "formats/container.h"

namespace vdiskfs {

// Bytes of a cluster, the allocation unit.
inline constexpr uint64_t kQcow2ClusterBytes = 64 << 10;

// The qcow2 file "<in.name><suffix>".
ContainerFile build_qcow2(const ContainerInput& in, std::string_view suffix);

}  // namespace vdiskfs
