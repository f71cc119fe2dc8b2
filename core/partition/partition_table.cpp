#include "core/partition/partition_table.h"

#include <fmt/core.h>

#include "core/image/error.h"
#include "core/partition/gpt.h"
#include "core/partition/mbr.h"

namespace vdiskfs {
namespace {

// The partition tables vdiskfs encodes: one row each.
constexpr PartitionTable kPartitionTables[] = {
    {"gpt", &kGptFootprint, encode_gpt},
    {"mbr", &kMbrFootprint, encode_mbr},
};

}  // namespace

std::string partition_table_names() {
  std::string out;
  for (const PartitionTable& t : kPartitionTables) out += fmt::format("{}{}", out.empty() ? "" : ", ", t.name);
  return out;
}

const PartitionTable& partition_table_named(std::string_view name) {
  for (const PartitionTable& t : kPartitionTables)
    if (t.name == name) return t;
  fail("unknown partition table '{}' (vdiskfs writes {})", name, partition_table_names());
}

}  // namespace vdiskfs
