#pragma once
// POSIX ACLs: Linux hands them out as the xattrs system.posix_acl_access and
// system.posix_acl_default in its generic encoding (version 2, 8-byte
// entries); ext4 stores them under name indices 2 and 3 in its own,
// shorter encoding (version 1; the owner, group, mask and other entries
// without an id).
#include <string>
#include <string_view>

namespace vdiskfs::ext4 {

// The ext4 encoding of a generic-encoding ACL; false if `generic` is not a
// well-formed one.
bool acl_to_ext4(std::string_view generic, std::string& out);

}  // namespace vdiskfs::ext4
