#include "core/fs/ext4/ext4_acl.h"

#include <cstdint>

#include "core/image/endian.h"

namespace vdiskfs::ext4 {
namespace {

constexpr uint32_t kGenericVersion = 2;  // POSIX_ACL_XATTR_VERSION
constexpr uint32_t kExt4Version = 1;     // EXT4_ACL_VERSION
constexpr uint16_t kUser = 0x02, kGroup = 0x08;  // the tags that carry an id
constexpr uint16_t kKnownTags = 0x01 | kUser | 0x04 | kGroup | 0x10 | 0x20;

void append_le(std::string& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += char((v >> (8 * i)) & 0xff);
}

}  // namespace

bool acl_to_ext4(std::string_view generic, std::string& out) {
  out.clear();
  if (generic.size() < 4 || (generic.size() - 4) % 8 != 0) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(generic.data());
  if (get_le32(p) != kGenericVersion) return false;
  append_le(out, kExt4Version, 4);
  for (size_t at = 4; at < generic.size(); at += 8) {
    const uint16_t tag = get_le16(p + at);
    const uint16_t perm = get_le16(p + at + 2);
    if (tag == 0 || (tag & ~kKnownTags) || (tag & (tag - 1)) || perm > 7) return false;
    append_le(out, tag, 2);
    append_le(out, perm, 2);
    if (tag == kUser || tag == kGroup) append_le(out, get_le32(p + at + 4), 4);
  }
  return true;
}

}  // namespace vdiskfs::ext4
