#pragma once
// POSIX ACLs in the text form of pax records SCHILY.acl.access and
// SCHILY.acl.default, as GNU tar --acls ("user:bob:rwx", one entry a line)
// and bsdtar and star ("user:bob:rwx:1000", comma-separated) write them,
// turned into the value Linux gives the xattr system.posix_acl_access /
// system.posix_acl_default (the generic encoding of core/source/
// posix_acl_format.h: version 2, 8-byte entries sorted by tag and id),
// which the ext4 layer already stores.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace vdiskfs::tar {

// User and group names of ACL entries resolved to ids (nullopt: no such
// name), kept by one scan so that each name is looked up once.
struct IdCache {
  std::map<std::string, std::optional<uint32_t>, std::less<>> users, groups;
};

// The generic xattr encoding of a text ACL, or why it is refused ("" and
// `out` set on success). Qualifiers: the numeric id of a 4th field when
// there is one (star, bsdtar), else the name resolved on this machine, as
// `tar -x` resolves it (getpwnam/getgrnam), else a number. An access ACL
// of only the three owner/group/other entries says no more than the mode:
// `out` is left empty for it, as the kernel stores none. `mode_bits` gets
// the 0777 bits an access ACL gives the file's mode when tar -x sets it
// (owner, mask or else group, other: the kernel's posix_acl_update_mode).
// `cache`, when given, keeps each name's lookup for the rest of the scan.
std::string acl_text_to_xattr(std::string_view text, bool is_default, std::string& out, uint32_t& mode_bits,
                              IdCache* cache = nullptr);

}  // namespace vdiskfs::tar
