#pragma once
// Names on FAT32: the long (VFAT) name of an entry in UTF-16, the rules a
// long name must follow, case folding for FAT's case-insensitive lookups,
// the unique 8.3 short name of each entry of a directory (the
// specification's basis-name algorithm with ~N numeric tails), and the
// long-name entries with the short name's checksum.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vdiskfs::fat {

// An 8.3 name as DIR_Name stores it: 8 + 3 characters, space padded.
using ShortName = std::array<uint8_t, 11>;

// `utf8` as UTF-16 (code points above U+FFFF as surrogate pairs) in *out;
// false when `utf8` is not valid UTF-8 (bad sequences, overlong forms,
// surrogates, code points above U+10FFFF).
bool utf8_to_utf16(std::string_view utf8, std::u16string* out);

// Why FAT cannot hold the entry name `utf8` ("" when it can); its UTF-16
// form goes to *utf16. Refused: invalid UTF-8, control characters and
// " * / : < > ? \ |, leading or trailing spaces and trailing periods
// (which FAT drops), more than 255 UTF-16 units.
std::string long_name_problem(std::string_view utf8, std::u16string* utf16);

// `name` in upper case as FAT compares names (Unicode's simple upper-case
// mapping of each UTF-16 unit; surrogates unchanged). Folds in place: a
// name moved in costs no copy.
std::u16string fold_case(std::u16string name);

// The unique short names of the entries of one directory, whose long names
// are `names` (already checked, distinct when case is ignored), in order.
// A name that fits 8.3 keeps it (upper-cased); others get the basis name
// with the lowest free ~N tail.
std::vector<ShortName> assign_short_names(const std::vector<std::u16string>& names);

// The volume label as BS_VolLab and the root's volume-label entry store it:
// upper case, space padded; "NO NAME    " for an empty label. Throws Error
// for a label over 11 bytes or with characters a short name cannot hold.
ShortName make_volume_label(std::string_view label);

// LDIR_Chksum: the checksum of a short name that ties long entries to it.
uint8_t short_name_checksum(const ShortName& name);

// Directory entries that the long name of `units` UTF-16 units takes.
inline uint32_t long_name_entries(size_t units) { return uint32_t((units + 12) / 13); }

// Writes the long-name entries of `name` (long_name_entries(size) of 32
// bytes each) to `out`, in the order they are stored: last part first.
void write_long_name(std::u16string_view name, uint8_t checksum, uint8_t* out);

}  // namespace vdiskfs::fat
