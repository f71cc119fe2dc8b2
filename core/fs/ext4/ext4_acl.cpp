#include "core/fs/ext4/ext4_acl.h"

#include <cstdint>

#include "core/fs/ext4/ext4_format_xattr.h"
#include "core/image/on_disk.h"
#include "core/source/posix_acl_format.h"

namespace vdiskfs::ext4 {
namespace {

// Every tag of the generic encoding, one bit each.
constexpr uint16_t kKnownTags = kAclUserObj | kAclUser | kAclGroupObj | kAclGroup | kAclMask | kAclOther;

// Appends the bytes of the on-disk struct `s` to `out`.
template <typename T>
void append(std::string& out, const T& s) {
  const size_t at = out.size();
  out.resize(at + sizeof(T));
  store(reinterpret_cast<uint8_t*>(out.data() + at), s);
}

}  // namespace

bool acl_to_ext4(std::string_view generic, std::string& out) {
  out.clear();
  if (generic.size() < sizeof(PosixAclXattrHeader) ||
      (generic.size() - sizeof(PosixAclXattrHeader)) % sizeof(PosixAclXattrEntry) != 0)
    return false;
  const auto* p = reinterpret_cast<const uint8_t*>(generic.data());
  if (load<PosixAclXattrHeader>(p).a_version != kPosixAclXattrVersion) return false;
  AclHeader header{};
  header.a_version = kAclVersion;
  append(out, header);
  for (size_t at = sizeof(PosixAclXattrHeader); at < generic.size(); at += sizeof(PosixAclXattrEntry)) {
    const PosixAclXattrEntry in = load<PosixAclXattrEntry>(p + at);
    const uint16_t tag = in.e_tag, perm = in.e_perm;
    if (tag == 0 || (tag & ~kKnownTags) || (tag & (tag - 1)) || perm > 7) return false;
    if (tag == kAclUser || tag == kAclGroup) {
      AclEntry e{};
      e.e_tag = tag;
      e.e_perm = perm;
      e.e_id = in.e_id;
      append(out, e);
    } else {
      AclEntryShort e{};
      e.e_tag = tag;
      e.e_perm = perm;
      append(out, e);
    }
  }
  return true;
}

}  // namespace vdiskfs::ext4
