#pragma once
// The value of the xattrs system.posix_acl_access and
// system.posix_acl_default as Linux hands them out and takes them, the
// tree's one encoding of a POSIX ACL (include/uapi/linux/posix_acl_xattr.h,
// the tags from include/uapi/linux/posix_acl.h): a PosixAclXattrHeader,
// then one PosixAclXattrEntry per ACL entry, sorted by tag and then id.
// Sources write it (the tar source from pax ACL records; the directory scan
// reads it as it is); a filesystem that stores ACLs its own way turns it
// into that (ext4: ext4_format_xattr.h).
#include <cstddef>
#include <cstdint>

#include "core/image/on_disk.h"

namespace vdiskfs {

// a_version of the generic encoding (POSIX_ACL_XATTR_VERSION).
inline constexpr uint32_t kPosixAclXattrVersion = 2;

// e_tag values, one bit each (ACL_USER_OBJ .. ACL_OTHER).
inline constexpr uint16_t kAclUserObj = 0x01;   // the file's owner
inline constexpr uint16_t kAclUser = 0x02;      // the user e_id
inline constexpr uint16_t kAclGroupObj = 0x04;  // the file's group
inline constexpr uint16_t kAclGroup = 0x08;     // the group e_id
inline constexpr uint16_t kAclMask = 0x10;      // the most any user or group entry but the owner grants
inline constexpr uint16_t kAclOther = 0x20;     // everyone else

// e_id of the entries that name no one (every tag but ACL_USER and
// ACL_GROUP): ACL_UNDEFINED_ID.
inline constexpr uint32_t kAclUndefinedId = 0xffffffffu;

// struct posix_acl_xattr_header: starts the value.
struct PosixAclXattrHeader {
  le32 a_version;  // 0x00 kPosixAclXattrVersion
};
static_assert(sizeof(PosixAclXattrHeader) == 0x4);
static_assert(offsetof(PosixAclXattrHeader, a_version) == 0x00);

// struct posix_acl_xattr_entry: one entry of the ACL.
struct PosixAclXattrEntry {
  le16 e_tag;   // 0x00 kAclUserObj .. kAclOther
  le16 e_perm;  // 0x02 rwx bits: 4 read, 2 write, 1 execute
  le32 e_id;    // 0x04 uid (kAclUser) or gid (kAclGroup); kAclUndefinedId for the others
};
static_assert(sizeof(PosixAclXattrEntry) == 0x8);
static_assert(offsetof(PosixAclXattrEntry, e_tag) == 0x00);
static_assert(offsetof(PosixAclXattrEntry, e_perm) == 0x02);
static_assert(offsetof(PosixAclXattrEntry, e_id) == 0x04);

}  // namespace vdiskfs
