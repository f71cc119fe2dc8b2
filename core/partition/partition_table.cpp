#include "core/partition/partition_table.h"

#include <fmt/core.h>

#include "core/image/error.h"
#include "core/partition/gpt.h"

namespace vdiskfs {
namespace {

// The partition tables vdiskfs encodes: one row each.
constexpr PartitionTable kPartitionTables[] = {
    {"gpt", &kGptFootprint, encode_gpt},
};

}  // namespace

const PartitionTable& partition_table_named(std::string_view name) {
  std::string names;
  for (const PartitionTable& t : kPartitionTables) {
    if (t.name == name) return t;
    names += fmt::format("{}{}", names.empty() ? "" : ", ", t.name);
  }
  fail("unknown partition table '{}' (vdiskfs writes {})", name, names);
}

}  // namespace vdiskfs
