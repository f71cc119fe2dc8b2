#include "core/partition/partition_table.h"

#include <fmt/core.h>

#include "core/image/named_rows.h"
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

std::string partition_table_names() { return row_names(kPartitionTables); }

const PartitionTable& partition_table_named(std::string_view name) {
  return row_named(kPartitionTables, name, "partition table", "vdiskfs writes");
}

}  // namespace vdiskfs
