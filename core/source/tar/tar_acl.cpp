#include "core/source/tar/tar_acl.h"

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/image/on_disk.h"
#include "core/source/posix_acl_format.h"
#include "core/source/tar/tar_fields.h"

namespace vdiskfs::tar {
namespace {

// One ACL entry as parsed: tag (kAcl*), rwx bits, uid or gid
// (kAclUndefinedId for the entries that name no one).
struct Entry {
  uint16_t tag;
  uint16_t perm;
  uint32_t id;
};

std::optional<uint16_t> tag_of(std::string_view word, bool qualified) {
  if (word == "user" || word == "u") return qualified ? kAclUser : kAclUserObj;
  if (word == "group" || word == "g") return qualified ? kAclGroup : kAclGroupObj;
  if ((word == "mask" || word == "m") && !qualified) return kAclMask;
  if ((word == "other" || word == "o") && !qualified) return kAclOther;
  return std::nullopt;
}

std::optional<uint16_t> perm_of(std::string_view text) {
  uint16_t perm = 0;
  for (char c : text) {
    if (c == 'r') perm |= 4;
    else if (c == 'w') perm |= 2;
    else if (c == 'x') perm |= 1;
    else if (c != '-') return std::nullopt;
  }
  return perm;
}

// A user or group name as libacl's acl_from_text resolves it: the name on
// this machine first, then a number.
std::optional<uint32_t> lookup(std::string_view name, bool user) {
  const std::string n(name);
  std::vector<char> buf(16384);
  if (user) {
    passwd pw, *found = nullptr;
    if (getpwnam_r(n.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found) return found->pw_uid;
  } else {
    group gr, *found = nullptr;
    if (getgrnam_r(n.c_str(), &gr, buf.data(), buf.size(), &found) == 0 && found) return found->gr_gid;
  }
  if (auto v = parse_decimal(name); v && *v < kAclUndefinedId) return uint32_t(*v);
  return std::nullopt;
}

// lookup() once per name and kind when there is a cache.
std::optional<uint32_t> resolve(std::string_view name, bool user, IdCache* cache) {
  if (!cache) return lookup(name, user);
  auto& known = user ? cache->users : cache->groups;
  if (auto it = known.find(name); it != known.end()) return it->second;
  return known.emplace(std::string(name), lookup(name, user)).first->second;
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  while (true) {
    const size_t at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

// One "tag:qualifier:perms[:id]" entry, or why not.
std::string parse_entry(std::string_view text, Entry& e, IdCache* cache) {
  const auto fields = split(text, ':');
  if (fields.size() < 3 || fields.size() > 4) return "entry '" + std::string(text) + "' is not tag:qualifier:perms";
  const auto tag = tag_of(fields[0], !fields[1].empty());
  const auto perm = perm_of(fields[2]);
  if (!tag || !perm) return "entry '" + std::string(text) + "' has an unknown tag or permissions";
  e = {*tag, *perm, kAclUndefinedId};
  if (*tag != kAclUser && *tag != kAclGroup) return "";
  std::optional<uint32_t> id;
  if (fields.size() == 4) {
    if (auto v = parse_decimal(fields[3]); v && *v < kAclUndefinedId) id = uint32_t(*v);
  } else {
    id = resolve(fields[1], *tag == kAclUser, cache);
  }
  if (!id) return "entry '" + std::string(text) + "' names no known " + (*tag == kAclUser ? "user" : "group");
  e.id = *id;
  return "";
}

// `entries`, sorted, as the generic xattr value in `out`.
void encode(const std::vector<Entry>& entries, std::string& out) {
  out.resize(sizeof(PosixAclXattrHeader) + entries.size() * sizeof(PosixAclXattrEntry));
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  PosixAclXattrHeader header{};
  header.a_version = kPosixAclXattrVersion;
  store(p, header);
  p += sizeof(header);
  for (const Entry& e : entries) {
    PosixAclXattrEntry entry{};
    entry.e_tag = e.tag;
    entry.e_perm = e.perm;
    entry.e_id = e.id;
    store(p, entry);
    p += sizeof(entry);
  }
}

}  // namespace

std::string acl_text_to_xattr(std::string_view text, bool is_default, std::string& out, uint32_t& mode_bits,
                              IdCache* cache) {
  out.clear();
  mode_bits = 0;
  std::vector<Entry> entries;
  for (std::string_view line : split(text, '\n')) {
    line = line.substr(0, line.find('#'));  // acl_from_text allows comments
    for (std::string_view item : split(line, ',')) {
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item.empty()) continue;
      Entry e;
      if (std::string why = parse_entry(item, e, cache); !why.empty()) return why;
      entries.push_back(e);
    }
  }
  if (entries.empty()) return "";
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.tag != b.tag ? a.tag < b.tag : a.id < b.id; });
  for (size_t i = 1; i < entries.size(); ++i)
    if (entries[i].tag == entries[i - 1].tag && entries[i].id == entries[i - 1].id)
      return "an entry is given twice";
  // What acl_valid() demands, or tar -x could not set it: one owner, group
  // and other entry, and a mask when there are named entries.
  const auto count = [&](uint16_t tag) { return std::count_if(entries.begin(), entries.end(), [&](const Entry& e) { return e.tag == tag; }); };
  if (count(kAclUserObj) != 1 || count(kAclGroupObj) != 1 || count(kAclOther) != 1 || count(kAclMask) > 1 ||
      (count(kAclMask) == 0 && (count(kAclUser) || count(kAclGroup))))
    return "not a valid ACL (it needs one user::, group:: and other:: entry, and mask:: with named entries)";
  for (const Entry& e : entries) {
    if (e.tag == kAclUserObj) mode_bits |= uint32_t(e.perm) << 6;
    if (e.tag == kAclOther) mode_bits |= e.perm;
    if (e.tag == kAclMask || (e.tag == kAclGroupObj && count(kAclMask) == 0)) mode_bits |= uint32_t(e.perm) << 3;
  }
  const bool minimal = entries.size() == 3 && entries[0].tag == kAclUserObj && entries[1].tag == kAclGroupObj &&
                       entries[2].tag == kAclOther;
  if (minimal && !is_default) return "";
  encode(entries, out);
  return "";
}

}  // namespace vdiskfs::tar
