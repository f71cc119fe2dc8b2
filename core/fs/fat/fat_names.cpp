#include "core/fs/fat/fat_names.h"

#include <fmt/core.h>

#include <charconv>
#include <cstring>
#include <cwctype>
#include <locale.h>
#include <wctype.h>
#include <unordered_map>
#include <unordered_set>

#include "core/fs/fat/fat_format.h"
#include "core/image/error.h"
#include "core/image/on_disk.h"

namespace vdiskfs::fat {
namespace {

// A set of ASCII characters as a table (a strchr per character was a
// measurable part of planning 100,000 names).
using CharSet = std::array<bool, 128>;

constexpr CharSet char_set(std::string_view chars) {
  CharSet set{};
  for (char c : chars) set[size_t(uint8_t(c))] = true;
  return set;
}

constexpr CharSet kLongNameForbidden = char_set("\"*/:<>?\\|");
constexpr CharSet kShortNameForbidden = char_set("\"*+,./:;<=>?[\\]|");

bool in_set(const CharSet& set, char16_t c) { return c < set.size() && set[c]; }

// The code point that starts at utf8[*i] (advancing *i past it), or -1 for
// an invalid sequence.
int32_t next_code_point(std::string_view utf8, size_t* i) {
  const uint8_t lead = uint8_t(utf8[*i]);
  int len = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || *i + len > utf8.size()) return -1;
  int32_t cp = len == 1 ? lead : lead & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    const uint8_t c = uint8_t(utf8[*i + k]);
    if ((c & 0xC0) != 0x80) return -1;
    cp = cp << 6 | (c & 0x3F);
  }
  static constexpr int32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *i += size_t(len);
  return cp;
}

// The upper case of a UTF-16 unit, as FAT compares names ignoring case:
// Unicode's simple upper-case mapping through glibc's C.UTF-8 locale (built
// into glibc, whatever locales are installed), which agrees with Windows'
// upcase table for the letters names use (ı -> I, ά -> Ά, ａ -> Ａ, Cyrillic,
// Greek, Armenian, Latin Extended). Surrogates stay as they are.
char16_t fold_unit(char16_t u) {
  if (u >= u'a' && u <= u'z') return char16_t(u - 32);
  if (u < 0x80 || (u >= 0xD800 && u <= 0xDFFF)) return u;
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(0));  // never changes
  const wint_t up = utf8 ? towupper_l(wint_t(u), utf8) : towupper(wint_t(u));
  return up <= 0xFFFF ? char16_t(up) : u;
}

bool valid_short_char(char16_t c) {
  return c > 0x20 && c < 0x7F && !(c >= u'a' && c <= u'z') && !in_set(kShortNameForbidden, c);
}

// A name's 8.3 basis (the specification's basis-name generation) and
// whether the long name fits 8.3 as it is, so that it needs no tail.
struct Basis {
  std::string primary;  // 1..8 characters
  std::string ext;      // 0..3 characters
  bool fits = true;
};

// The name with spaces dropped and characters a short name cannot hold
// as '_' (one per code point); clears basis->fits when it drops or
// replaces anything.
std::string short_characters(std::u16string_view folded, Basis* basis) {
  std::string s;
  for (size_t i = 0; i < folded.size(); ++i) {
    const char16_t c = folded[i];
    if (c >= 0xD800 && c <= 0xDBFF && i + 1 < folded.size()) ++i;  // one '_' for the pair
    if (c == u' ') {
      basis->fits = false;
    } else if (c == u'.' || valid_short_char(c)) {
      s += char(c);
    } else {
      s += '_';
      basis->fits = false;
    }
  }
  return s;
}

Basis make_basis(std::u16string_view folded) {
  Basis basis;
  std::string s = short_characters(folded, &basis);
  const size_t leading = s.find_first_not_of('.');
  if (leading != 0) basis.fits = false;
  s.erase(0, leading == std::string::npos ? s.size() : leading);
  const size_t first_dot = s.find('.'), last_dot = s.rfind('.');
  basis.primary = s.substr(0, std::min<size_t>(first_dot, 8));
  if (last_dot != std::string::npos) basis.ext = s.substr(last_dot + 1, 3);
  const size_t primary_len = std::min(first_dot, s.size());
  const size_t ext_len = last_dot == std::string::npos ? 0 : s.size() - last_dot - 1;
  if (first_dot != last_dot || primary_len > 8 || ext_len > 3) basis.fits = false;
  if (basis.primary.empty()) {
    basis.primary.push_back('_');
    basis.fits = false;
  }
  return basis;
}

ShortName short_name(std::string_view primary, std::string_view ext) {
  ShortName n;
  n.fill(' ');
  std::memcpy(n.data(), primary.data(), std::min<size_t>(primary.size(), 8));
  std::memcpy(n.data() + 8, ext.data(), std::min<size_t>(ext.size(), 3));
  return n;
}

// The hash of short names and tail keys: their bytes as two 64-bit
// words, mixed by multiplication.
struct BytesHash {
  template <size_t N>
  size_t operator()(const std::array<uint8_t, N>& bytes) const {
    static_assert(N > 8 && N <= 16);
    uint64_t lo = 0, hi = 0;
    std::memcpy(&lo, bytes.data(), 8);
    std::memcpy(&hi, bytes.data() + 8, N - 8);
    const uint64_t h = (lo ^ hi * 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
    return size_t(h ^ h >> 31);
  }
};

using ShortNameSet = std::unordered_set<ShortName, BytesHash>;

// Names whose tails share the prefix they keep, the extension and the tail
// width: the prefix and extension as a short name, then the width.
using TailKey = std::array<uint8_t, 12>;

// Per tail key: the last tail number taken.
using LastTails = std::unordered_map<TailKey, uint32_t, BytesHash>;

TailKey tail_key(std::string_view prefix, std::string_view ext, size_t width) {
  const ShortName n = short_name(prefix, ext);
  TailKey key;
  std::copy(n.begin(), n.end(), key.begin());
  key[11] = uint8_t(width);
  return key;
}

// `prefix` "~" `tail` with the extension `ext`; prefix, '~' and digits
// take at most 8 characters.
ShortName tailed_name(std::string_view prefix, uint32_t tail, std::string_view ext) {
  ShortName n = short_name(prefix, ext);
  n[prefix.size()] = '~';
  char digits[8];
  const char* end = std::to_chars(digits, digits + sizeof digits, tail).ptr;
  std::memcpy(n.data() + prefix.size() + 1, digits, size_t(end - digits));
  return n;
}

// The basis `b` with the lowest free ~N tail, which it adds to `used`. Per
// (prefix, extension, tail width) the numbering goes on from the last
// number taken, so that names sharing a prefix ("file10000", "file10010"
// -> "FILE10~N") do not try every number again.
ShortName next_tailed_name(const Basis& b, ShortNameSet& used, LastTails& last_tail) {
  for (size_t width = 2, lo = 1; width <= 7; ++width, lo *= 10) {  // "~1".."~999999"
    const std::string_view prefix = std::string_view(b.primary).substr(0, 8 - width);
    uint32_t& n = last_tail[tail_key(prefix, b.ext, width)];
    if (n < lo - 1) n = uint32_t(lo - 1);
    while (n < lo * 10 - 1) {
      const ShortName name = tailed_name(prefix, ++n, b.ext);
      if (used.insert(name).second) return name;
    }
  }
  fail("no free 8.3 name for a long name in one directory (over a million alike)");
}

}  // namespace

bool utf8_to_utf16(std::string_view utf8, std::u16string* out) {
  out->reserve(utf8.size());
  size_t i = 0;  // the ASCII head in one copy, the rest by code point
  while (i < utf8.size() && uint8_t(utf8[i]) < 0x80) ++i;
  out->assign(utf8.begin(), utf8.begin() + ptrdiff_t(i));
  while (i < utf8.size()) {
    const int32_t cp = next_code_point(utf8, &i);
    if (cp < 0) return false;
    if (cp < 0x10000) {
      out->push_back(char16_t(cp));
    } else {
      out->push_back(char16_t(0xD800 + ((cp - 0x10000) >> 10)));
      out->push_back(char16_t(0xDC00 + ((cp - 0x10000) & 0x3FF)));
    }
  }
  return true;
}

std::string long_name_problem(std::string_view utf8, std::u16string* utf16) {
  if (utf8.empty()) return "the name is empty";
  if (!utf8_to_utf16(utf8, utf16)) return "the name is not valid UTF-8";
  for (char c : utf8) {
    if (uint8_t(c) < 0x20) return "the name holds a control character, which FAT forbids";
    if (in_set(kLongNameForbidden, uint8_t(c)))
      return fmt::format("the name holds '{}', which FAT forbids", c);
  }
  if (utf8.front() == ' ' || utf8.back() == ' ' || utf8.back() == '.')
    return "the name starts or ends with a space or ends with a period, which FAT drops";
  if (utf16->size() > kMaxLongNameUnits)
    return fmt::format("the name is {} UTF-16 units long; FAT holds at most {}", utf16->size(), kMaxLongNameUnits);
  return "";
}

std::u16string fold_case(std::u16string name) {
  for (char16_t& u : name) u = fold_unit(u);
  return name;
}

std::vector<ShortName> assign_short_names(const std::vector<std::u16string>& names) {
  std::vector<Basis> bases;
  bases.reserve(names.size());
  for (const std::u16string& n : names) bases.push_back(make_basis(fold_case(n)));
  std::vector<ShortName> out(names.size());
  ShortNameSet used;
  used.reserve(names.size());
  // Names that fit 8.3 first: they keep their name, and no tail may take it.
  for (size_t i = 0; i < names.size(); ++i) {
    if (!bases[i].fits) continue;
    out[i] = short_name(bases[i].primary, bases[i].ext);
    used.insert(out[i]);
  }
  LastTails last_tail;
  for (size_t i = 0; i < names.size(); ++i)
    if (!bases[i].fits) out[i] = next_tailed_name(bases[i], used, last_tail);
  return out;
}

ShortName make_volume_label(std::string_view label) {
  if (label.empty()) return short_name("NO NAME", "");
  if (label.size() > 11) fail("the FAT volume label '{}' is {} bytes long; FAT holds at most 11", label, label.size());
  ShortName n;
  n.fill(' ');
  for (size_t i = 0; i < label.size(); ++i) {
    const char16_t c = fold_unit(char16_t(uint8_t(label[i])));
    if (c != u' ' && !valid_short_char(c))
      fail("the FAT volume label '{}' holds '{}'; a label takes letters, digits, spaces and "
           "! # $ % & ' ( ) - @ ^ _ ` {{ }} ~",
           label, label[i]);
    n[i] = uint8_t(c);
  }
  return n;
}

uint8_t short_name_checksum(const ShortName& name) {
  uint8_t sum = 0;
  for (uint8_t c : name) sum = uint8_t(((sum & 1) ? 0x80 : 0) + (sum >> 1) + c);
  return sum;
}

void write_long_name(std::u16string_view name, uint8_t checksum, uint8_t* out) {
  const uint32_t count = long_name_entries(name.size());
  auto unit = [&](size_t i) -> char16_t { return i < name.size() ? name[i] : i == name.size() ? 0x0000 : 0xFFFF; };
  for (uint32_t k = count; k >= 1; --k) {  // stored last part first
    LongNameEntry e{};
    e.order = uint8_t(k | (k == count ? kLastLongEntry : 0));
    e.attr = kAttrLongName;
    e.checksum = checksum;
    const size_t base = size_t(k - 1) * kLongNameUnitsPerEntry;
    for (size_t j = 0; j < 5; ++j) e.name1[j] = unit(base + j);
    for (size_t j = 0; j < 6; ++j) e.name2[j] = unit(base + 5 + j);
    for (size_t j = 0; j < 2; ++j) e.name3[j] = unit(base + 11 + j);
    store(out, e);
    out += kDirEntryBytes;
  }
}

}  // namespace vdiskfs::fat
