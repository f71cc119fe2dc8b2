#include "core/fs/ext4/ext4_xattr.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <vector>

#include "core/fs/ext4/ext4_acl.h"
#include "core/fs/ext4/ext4_format.h"
#include "core/fs/ext4/ext4_format_xattr.h"
#include "core/image/on_disk.h"

namespace vdiskfs::ext4 {
namespace {

uint32_t round4(uint32_t n) { return (n + 3) & ~3u; }

constexpr std::string_view kAclAccess = "system.posix_acl_access";
constexpr std::string_view kAclDefault = "system.posix_acl_default";

// ext4's name prefixes and their indices (fs/ext4/xattr.h); the two ACLs
// are whole names with indices of their own.
bool split_name(std::string_view full, uint8_t& index, std::string_view& rest) {
  if (full == kAclAccess || full == kAclDefault) {
    index = full == kAclAccess ? 2 : 3;
    rest = {};
    return true;
  }
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

// A named xattr: its ext4 name (prefix index + rest) and the value ext4
// stores (an ACL's in ext4's encoding, kept in `acl`).
struct Entry {
  uint8_t index = 0;
  std::string_view name;   // the whole name, as the source gave it
  std::string_view rest;
  std::string_view value;  // as the source gave it
  std::string acl;         // an ACL in ext4's encoding (never empty then)
  std::string_view stored() const { return acl.empty() ? value : std::string_view(acl); }
  uint32_t entry_len() const { return round4(uint32_t(sizeof(XattrEntry) + rest.size())); }
  uint32_t value_len() const { return uint32_t(stored().size()); }
};

// The Entry of `x`; false if ext4 cannot hold it (no prefix index, or an
// ACL that is not well formed), with why in `why`.
bool make_entry(const Tree& tree, const Xattr& x, Entry& e, std::string& why) {
  if (!split_name(tree.xattr_name(x), e.index, e.rest)) {
    why = "a name without one of ext4's prefixes (user., trusted., security., system.) or over 255 bytes after it";
    return false;
  }
  e.name = tree.xattr_name(x);
  e.value = tree.xattr_value(x);
  if ((e.index != 2 && e.index != 3) || acl_to_ext4(e.value, e.acl)) return true;
  why = "not a well-formed POSIX ACL";
  return false;
}

// "'name' (why)" for a left-out xattr.
std::string misfit(std::string_view name, std::string_view why) {
  return "'" + std::string(name) + "' (" + std::string(why) + ")";
}

// Fills an area of entries (growing up from `entry`) and values (growing
// down from `value`) while they fit, with room for the end marker.
struct Area {
  uint32_t entry, value;
  bool take(const Entry& e) {
    const uint32_t v = round4(e.value_len());
    if (entry + e.entry_len() + kXattrEndMarker + v > value) return false;
    entry += e.entry_len();
    value -= v;
    return true;
  }
};

// Which xattrs of `node` go into the inode body and which into its block,
// in the order each area stores them.
struct Split {
  std::vector<Entry> ibody, block;
  size_t left_out = 0;
  std::vector<std::string> misfits;  // per one left out
};

Split split_xattrs(const Tree& tree, uint32_t node) {
  Split out;
  const auto [first, last] = tree.xattrs_of(node);
  std::vector<Entry> order;
  // security.capability first (binaries like ping need it), then the rest in
  // order; the inode body takes each that still fits, the block the others.
  for (int pass = 0; pass < 2; ++pass) {
    for (const Xattr* x = first; x != last; ++x) {
      if ((tree.xattr_name(*x) == "security.capability") != (pass == 0)) continue;
      Entry e;
      std::string why;
      if (make_entry(tree, *x, e, why)) {
        order.push_back(std::move(e));
      } else {
        ++out.left_out;
        out.misfits.push_back(misfit(tree.xattr_name(*x), why));
      }
    }
  }
  Area ibody{sizeof(XattrIbodyHeader), sizeof(Inode::i_xattrs)};
  Area block{sizeof(XattrHeader), kBlockSize};
  for (Entry& e : order) {
    if (ibody.take(e)) out.ibody.push_back(std::move(e));
    else if (block.take(e)) out.block.push_back(std::move(e));
    else {
      ++out.left_out;
      out.misfits.push_back(misfit(e.name, "a value of " + std::to_string(e.value.size()) +
                                       " bytes: it fits neither the inode nor one 4 KiB block beside the others"));
    }
  }
  // The kernel searches a block's entries in this order and stops early.
  std::sort(out.block.begin(), out.block.end(), [](const Entry& a, const Entry& b) {
    if (a.index != b.index) return a.index < b.index;
    if (a.rest.size() != b.rest.size()) return a.rest.size() < b.rest.size();
    return a.rest < b.rest;
  });
  return out;
}

// ext4_xattr_hash_entry: over the name bytes, then the value as le32 words.
uint32_t entry_hash(std::string_view name, const uint8_t* value, uint32_t value_len) {
  uint32_t hash = 0;
  for (unsigned char c : name) hash = (hash << 5) ^ (hash >> 27) ^ c;
  for (uint32_t i = 0; i < round4(value_len); i += sizeof(le32))
    hash = (hash << 16) ^ (hash >> 16) ^ load<le32>(value + i);
  return hash;
}

// Writes `entries` into `area` (its first entry at `first_entry`, values
// down from `end`); value offsets count from `offs_base`. Returns the
// combined block hash (ext4_xattr_rehash) when `hashes` is set.
uint32_t write_entries(const std::vector<Entry>& entries, uint8_t* area,
                       uint32_t first_entry, uint32_t end, uint32_t offs_base, bool hashes) {
  uint32_t entry = first_entry, value = end, block_hash = 0;
  bool any_zero = false;
  for (const Entry& en : entries) {
    value -= round4(en.value_len());
    // (memcpy with an empty view's null pointer is undefined: skip those)
    if (en.value_len()) std::memcpy(area + value, en.stored().data(), en.value_len());
    XattrEntry e{};
    e.e_name_len = uint8_t(en.rest.size());
    e.e_name_index = en.index;
    e.e_value_offs = uint16_t(value - offs_base);
    e.e_value_inum = 0;
    e.e_value_size = en.value_len();
    // e_hash: 0 is allowed in the inode body, required in a block.
    const uint32_t hash = hashes ? entry_hash(en.rest, area + value, en.value_len()) : 0;
    e.e_hash = hash;
    store(area + entry, e);
    if (!en.rest.empty()) std::memcpy(area + entry + sizeof(XattrEntry), en.rest.data(), en.rest.size());
    entry += en.entry_len();
    block_hash = (block_hash << 16) ^ (block_hash >> 16) ^ hash;
    any_zero |= hash == 0;
  }
  return any_zero ? 0 : block_hash;  // as ext4_xattr_rehash: one unhashed entry, no block hash
}

}  // namespace

XattrFit fit_xattrs(const Tree& tree, uint32_t node) {
  Split s = split_xattrs(tree, node);
  return {!s.block.empty(), s.left_out, std::move(s.misfits)};
}

void write_inode_xattrs(const Tree& tree, uint32_t node, Inode& inode) {
  const Split s = split_xattrs(tree, node);
  if (s.ibody.empty()) return;  // no xattr area at all
  uint8_t* area = inode.i_xattrs;
  std::memset(area, 0, sizeof inode.i_xattrs);
  // Value offsets count from the first entry, right after the header.
  constexpr uint32_t kFirstEntry = sizeof(XattrIbodyHeader);
  write_entries(s.ibody, area, kFirstEntry, sizeof inode.i_xattrs, kFirstEntry, false);
  XattrIbodyHeader h{};
  h.h_magic = kXattrMagic;
  store(area, h);
}

void write_xattr_block(const Tree& tree, uint32_t node, uint8_t* block) {
  std::memset(block, 0, kBlockSize);
  const Split s = split_xattrs(tree, node);
  XattrHeader h{};
  h.h_magic = kXattrMagic;
  h.h_refcount = 1;  // one inode
  h.h_blocks = 1;
  h.h_hash = write_entries(s.block, block, sizeof(XattrHeader), kBlockSize, 0, true);
  h.h_checksum = 0;  // no metadata_csum
  store(block, h);
}

}  // namespace vdiskfs::ext4
