#include "core/ext4/ext4_xattr.h"

#include <cstring>
#include <string_view>
#include <vector>

#include "core/endian.h"
#include "core/ext4/ext4_format.h"

namespace vdiskfs::ext4 {
namespace {

constexpr uint32_t kIbodyStart = 128 + kExtraIsize;  // after i_extra_isize bytes
constexpr uint32_t kXattrMagic = 0xEA020000;
constexpr uint32_t kEntryHeader = 16;

uint32_t round4(uint32_t n) { return (n + 3) & ~3u; }

// ext4's name prefixes and their indices (fs/ext4/xattr.h).
bool split_name(std::string_view full, uint8_t& index, std::string_view& rest) {
  static const struct { const char* prefix; uint8_t index; } kPrefixes[] = {
      {"user.", 1}, {"trusted.", 4}, {"security.", 6}, {"system.", 7}};
  for (const auto& p : kPrefixes) {
    const size_t n = std::strlen(p.prefix);
    if (full.size() > n && full.compare(0, n, p.prefix) == 0) {
      index = p.index;
      rest = full.substr(n);
      return rest.size() <= 255;
    }
  }
  return false;
}

}  // namespace

size_t write_inode_xattrs(const Tree& tree, uint32_t node, uint8_t* inode) {
  const auto [first, last] = tree.xattrs_of(node);
  if (first == last) return 0;
  // security.capability first (binaries like ping need it), then the rest in
  // order, each only if it still fits.
  std::vector<const Xattr*> order;
  for (const Xattr* x = first; x != last; ++x)
    if (tree.xattr_name(*x) == "security.capability") order.push_back(x);
  for (const Xattr* x = first; x != last; ++x)
    if (tree.xattr_name(*x) != "security.capability") order.push_back(x);
  // Entries grow up from after the magic; values grow down from the end.
  uint8_t area[kInodeSize] = {};
  const uint32_t first_entry = kIbodyStart + 4;
  uint32_t entry = first_entry, value = kInodeSize;
  size_t dropped = 0;
  for (const Xattr* x : order) {
    uint8_t index;
    std::string_view rest;
    const uint32_t entry_len = split_name(tree.xattr_name(*x), index, rest) ? round4(kEntryHeader + uint32_t(rest.size())) : 0;
    if (entry_len == 0 || entry + entry_len + 4 > value - round4(x->value_len)) {  // + the end marker
      ++dropped;
      continue;
    }
    value -= round4(x->value_len);
    const std::string_view bytes = tree.xattr_value(*x);
    std::memcpy(area + value, bytes.data(), bytes.size());
    uint8_t* e = area + entry;
    e[0] = uint8_t(rest.size());                     // e_name_len
    e[1] = index;                                    // e_name_index
    put_le16(e + 2, uint16_t(value - first_entry));  // e_value_offs
    put_le32(e + 4, 0);                              // e_value_inum
    put_le32(e + 8, x->value_len);                   // e_value_size
    put_le32(e + 12, 0);                             // e_hash: 0 is allowed in the inode body
    std::memcpy(e + kEntryHeader, rest.data(), rest.size());
    entry += entry_len;
  }
  if (entry == first_entry) return dropped;  // nothing fits: no xattr area at all
  put_le32(area + kIbodyStart, kXattrMagic);
  std::memcpy(inode + kIbodyStart, area + kIbodyStart, kInodeSize - kIbodyStart);
  return dropped;
}

}  // namespace vdiskfs::ext4
