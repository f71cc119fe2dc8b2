#pragma once
// Tables of rows chosen by name (filesystems, partition tables): the row
// a user named, and the list of names for help texts and errors.
#include <fmt/core.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "core/image/error.h"

namespace vdiskfs {

// The rows' names, comma-separated ("gpt, mbr"). Row needs a `name` field.
template <typename Row, size_t N>
std::string row_names(const Row (&rows)[N]) {
  std::string out;
  for (const Row& row : rows) out += fmt::format("{}{}", out.empty() ? "" : ", ", row.name);
  return out;
}

// The row named `name`; throws Error "unknown WHAT 'NAME' (HAVE: names)".
template <typename Row, size_t N>
const Row& row_named(const Row (&rows)[N], std::string_view name, std::string_view what, std::string_view have) {
  for (const Row& row : rows)
    if (row.name == name) return row;
  fail("unknown {} '{}' ({} {})", what, name, have, row_names(rows));
}

}  // namespace vdiskfs
