#pragma once
// Extended attributes: first inside the 256-byte inode (ext4's "ibody"
// xattrs, after the 32 extra bytes), security.capability first; what does
// not fit there goes to one xattr block of the inode (i_file_acl), as ext4
// itself does. Only what fits in neither is left out (and reported).
#include <cstddef>
#include <cstdint>

#include "core/fs/ext4/ext4_format_inode.h"
#include "core/source/tree.h"

#include <string>
#include <vector>

namespace vdiskfs::ext4 {

// Where the xattrs of a node go.
struct XattrFit {
  bool needs_block = false;  // some go to an xattr block
  size_t left_out = 0;       // fit in neither, or a name without an ext4 prefix
  std::vector<std::string> misfits;  // per one left out: its name and why ("'user.x' (...)")
};
XattrFit fit_xattrs(const Tree& tree, uint32_t node);

// Writes the inode-body xattrs of `node` into the inode's xattr area
// (i_xattrs); leaves the inode untouched if none go there.
void write_inode_xattrs(const Tree& tree, uint32_t node, Inode& inode);

// Writes the xattr block of `node` (kBlockSize bytes): header, sorted
// entries with their hashes, values.
void write_xattr_block(const Tree& tree, uint32_t node, uint8_t* block);

}  // namespace vdiskfs::ext4
