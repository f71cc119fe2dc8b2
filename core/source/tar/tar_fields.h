#pragma once
// Decoding of tar header fields: octal and base-256 numbers, the header
// checksum, pax records ("LEN key=value\n"), pax times ("SEC.FRAC") and the
// encodings of libarchive's xattr records (URL-encoded names, base64 values).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/source/tar/tar_header.h"
#include "core/source/timestamp.h"

namespace vdiskfs::tar {

// All the characters of a header field (tar_header.h), NULs included.
template <size_t N>
constexpr std::string_view field_chars(const char (&field)[N]) {
  return std::string_view(field, N);
}

// A numeric field as GNU tar (list.c, from_header) and libarchive
// (tar_atol) read it. Octal: leading spaces or tabs, the digits, then a
// terminator (NUL, space, or the field's end) after which anything is
// ignored; a blank or all-NUL field is 0. Base-256 (high bit of the first
// byte set): big-endian over the whole field, the first byte's bit 0x40 the
// sign (0x80 positive, 0xff negative), of any field width. nullopt when
// malformed or outside int64.
std::optional<int64_t> parse_number(std::string_view field);

// True when the stored checksum of the header block (kBlock bytes at
// `header`) matches its bytes (unsigned or historic signed sum).
bool checksum_ok(const uint8_t* header);
// True when the kBlock bytes at `block` are all zero (the end marker).
bool is_zero_block(const uint8_t* block);

// A NUL-terminated (or full-width) string field.
std::string_view field_string(std::string_view field);

// Splits pax extended-header data into (key, value) records; false when a
// record is malformed.
bool parse_pax_records(std::string_view data, std::vector<std::pair<std::string, std::string>>& out);

// A pax time ("1700000000.123456789", "-1.5"): a decimal number of seconds
// as POSIX defines it and GNU tar reads it, so "-1.5" is 1.5 s before the
// epoch ({-2, 500000000}). (bsdtar writes and reads "-SEC.FRAC" as -SEC
// plus FRAC: see README, "Tar archives as the source".) Digits beyond
// nanoseconds are dropped. nullopt when malformed.
std::optional<Timestamp> parse_pax_time(std::string_view text);

// True when a pax time is negative with a nonzero fraction: the one form
// GNU tar and bsdtar extract 1 s apart.
bool pax_time_ambiguous(std::string_view text);

// The xattr name of a SCHILY.xattr.NAME record as GNU tar decodes it
// (xattrs.c, xattr_decode_keyword): "%3D" is '=' and "%25" is '%', which a
// pax keyword cannot hold; other text is kept. (bsdtar keeps the name as
// written; it sets the decoded name from its LIBARCHIVE.xattr record too.)
std::string schily_xattr_name(std::string_view keyword);

// "%XX" escapes of a LIBARCHIVE.xattr name decoded; nullopt when malformed.
std::optional<std::string> url_decode(std::string_view text);

// A base64 value (RFC 4648, padding optional, as libarchive writes it);
// nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);

// A decimal unsigned integer (pax values, sparse maps).
std::optional<uint64_t> parse_decimal(std::string_view text);

}  // namespace vdiskfs::tar
