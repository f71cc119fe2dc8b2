#pragma once
// qcow2 version 3 (QEMU's docs/interop/qcow2.txt): 64 KiB clusters, L1/L2
// tables, 16-bit refcounts. Layout: header | refcount table | refcount
// blocks | L1 | L2 tables (only where data is) | data clusters. Every
// cluster of the file has refcount 1, so `qemu-img check` finds no leaks.
#include "formats/container.h"

namespace vdiskfs {

ContainerFile build_qcow2(const ContainerInput& in);

}  // namespace vdiskfs
