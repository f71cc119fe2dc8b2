#pragma once
// Decoding of tar header fields: octal and base-256 numbers, the header
// checksum, pax records ("LEN key=value\n") and pax times ("SEC.FRAC").
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vdiskfs::tar {

inline constexpr size_t kBlock = 512;

// A numeric field: octal digits (space/NUL padded) or GNU base-256 (high
// bit of the first byte set). nullopt when malformed.
std::optional<int64_t> parse_number(const uint8_t* field, size_t len);

// True when the stored checksum matches (unsigned or historic signed sum).
bool checksum_ok(const uint8_t* header);
bool is_zero_block(const uint8_t* block);

// A NUL-terminated (or full-width) string field.
std::string_view field_string(const uint8_t* field, size_t len);

// Splits pax extended-header data into (key, value) records; false when a
// record is malformed.
bool parse_pax_records(std::string_view data, std::vector<std::pair<std::string, std::string>>& out);

// "1700000000.123456789" or "-1.5" -> nanoseconds since the epoch.
std::optional<int64_t> parse_pax_time(std::string_view text);

// A decimal unsigned integer (pax values, sparse maps).
std::optional<uint64_t> parse_decimal(std::string_view text);

}  // namespace vdiskfs::tar
