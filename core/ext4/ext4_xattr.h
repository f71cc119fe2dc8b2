#pragma once
// Extended attributes stored inside the 256-byte inode (ext4's "ibody"
// xattrs, after the 32 extra bytes): enough for security.capability and
// other small sets. Sets that do not fit would need an xattr block, which
// is not written yet; the layout reports them.
#include <cstddef>
#include <cstdint>

#include "core/tree.h"

namespace vdiskfs::ext4 {

// Writes the xattrs of `node` into the inode bytes, security.capability
// first, each that still fits; returns how many were left out (too large,
// or a name without an ext4 prefix index).
size_t write_inode_xattrs(const Tree& tree, uint32_t node, uint8_t* inode);

}  // namespace vdiskfs::ext4
