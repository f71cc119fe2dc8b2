#pragma once
// ext4 extended attributes (Documentation/filesystems/ext4/attributes.rst):
// an area starts with a header (XattrIbodyHeader in the inode after its
// extra fields, XattrHeader at the start of an xattr block), entries grow
// up from after it, each followed by its name and padded to 4 bytes, and
// end at 4 zero bytes; the values grow down from the area's end, each
// padded to 4 bytes. Also ext4's encoding of POSIX ACLs, which are xattr
// values.
#include <cstddef>
#include <cstdint>

#include "core/image/on_disk.h"
#include "core/source/posix_acl_format.h"

namespace vdiskfs::ext4 {

// h_magic of either header.
inline constexpr uint32_t kXattrMagic = 0xEA020000;

// Bytes of the zero word that ends the entries.
inline constexpr uint32_t kXattrEndMarker = 4;

// struct ext4_xattr_header: starts an xattr block.
struct XattrHeader {
  le32 h_magic;        // 0x00 kXattrMagic
  le32 h_refcount;     // 0x04 inodes sharing the block
  le32 h_blocks;       // 0x08 blocks used: 1
  le32 h_hash;         // 0x0c hash of all entries
  le32 h_checksum;     // 0x10 crc32c (metadata_csum)
  le32 h_reserved[3];  // 0x14
};
static_assert(sizeof(XattrHeader) == 0x20);
static_assert(offsetof(XattrHeader, h_magic) == 0x00);
static_assert(offsetof(XattrHeader, h_refcount) == 0x04);
static_assert(offsetof(XattrHeader, h_blocks) == 0x08);
static_assert(offsetof(XattrHeader, h_hash) == 0x0c);
static_assert(offsetof(XattrHeader, h_checksum) == 0x10);
static_assert(offsetof(XattrHeader, h_reserved) == 0x14);

// struct ext4_xattr_ibody_header: starts the in-inode xattr area.
struct XattrIbodyHeader {
  le32 h_magic;  // 0x00 kXattrMagic
};
static_assert(sizeof(XattrIbodyHeader) == 0x4);
static_assert(offsetof(XattrIbodyHeader, h_magic) == 0x00);

// struct ext4_xattr_entry without its name: e_name_len bytes of name (the
// part after the prefix that e_name_index stands for) follow the entry.
struct XattrEntry {
  uint8_t e_name_len;    // 0x00 bytes of the name after the prefix
  uint8_t e_name_index;  // 0x01 name prefix: 1 user., 2/3 the POSIX ACLs, 4 trusted., 6 security., 7 system.
  le16 e_value_offs;     // 0x02 value offset from the first entry (ibody) or the block start
  le32 e_value_inum;     // 0x04 inode holding the value (ea_inode); 0: in this area
  le32 e_value_size;     // 0x08 bytes of the value
  le32 e_hash;           // 0x0c hash of name and value; 0 allowed in the inode body
};
static_assert(sizeof(XattrEntry) == 0x10);
static_assert(offsetof(XattrEntry, e_name_len) == 0x00);
static_assert(offsetof(XattrEntry, e_name_index) == 0x01);
static_assert(offsetof(XattrEntry, e_value_offs) == 0x02);
static_assert(offsetof(XattrEntry, e_value_inum) == 0x04);
static_assert(offsetof(XattrEntry, e_value_size) == 0x08);
static_assert(offsetof(XattrEntry, e_hash) == 0x0c);

// POSIX ACLs, the values of two xattrs, in two encodings: the generic one
// Linux hands out for system.posix_acl_access/default (core/source/
// posix_acl_format.h: version 2, every entry 8 bytes) and ext4's own,
// stored under name indices 2 and 3 (fs/ext4/acl.h: version 1, the entries
// of ACL_USER and ACL_GROUP 8 bytes, the others 4 without e_id). ext4's
// header and 8-byte entry have the generic ones' layout; the tags are the
// generic ones (kAclUserObj .. kAclOther).

// a_version of ext4's encoding (EXT4_ACL_VERSION).
inline constexpr uint32_t kAclVersion = 1;

// ext4_acl_header: starts an ext4 ACL; a_version is kAclVersion.
using AclHeader = PosixAclXattrHeader;

// ext4_acl_entry: an ext4 ACL entry that carries an id (kAclUser,
// kAclGroup).
using AclEntry = PosixAclXattrEntry;

// ext4_acl_entry_short: an ext4 ACL entry without an id.
struct AclEntryShort {
  le16 e_tag;   // 0x00 kAclUserObj, kAclGroupObj, kAclMask or kAclOther
  le16 e_perm;  // 0x02 rwx bits
};
static_assert(sizeof(AclEntryShort) == 0x4);
static_assert(offsetof(AclEntryShort, e_tag) == 0x00);
static_assert(offsetof(AclEntryShort, e_perm) == 0x02);

}  // namespace vdiskfs::ext4
