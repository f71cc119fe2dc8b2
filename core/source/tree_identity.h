#pragma once
// The identity of a disk built from a tree: a 128-bit xxHash (XXH3) of the
// layout options and of the tree's manifest (every entry's mode, owner,
// link count, mtime, size, device, flags, name, parent, link target, data
// segments and xattrs), so that any change of the source or of the layout
// gives another identity. See ../shared/DESIGN.md, "Identity and linkage".
#include <string_view>

#include "core/image/identity.h"
#include "core/source/tree.h"

namespace vdiskfs {

// The identity of `tree` laid out with `layout_options` (a canonical text).
Identity compute_identity(const Tree& tree, std::string_view layout_options);

}  // namespace vdiskfs
