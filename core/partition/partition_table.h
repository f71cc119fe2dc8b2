#pragma once
// Partition table encoders behind one interface, chosen by name from one
// table (partition_table.cpp): gpt (gpt.h) and mbr (mbr.h), each a file of
// its own under core/partition/ plus one row.
#include <memory>
#include <string>
#include <string_view>

#include "core/image/identity.h"
#include "core/image/image.h"
#include "core/partition/placement.h"

namespace vdiskfs {

// One row of the partition table table.
struct PartitionTable {
  std::string_view name;            // what users type to --table, and the disk's layout text: "gpt", "mbr"
  const TableFootprint* footprint;  // the room the table keeps; place_partitions takes it
  // The disk of `placement` (made with *footprint) under this table; the
  // table's disk identifier derives from `disk_id`. Throws Error on a
  // placement the table cannot describe.
  std::shared_ptr<const Image> (*encode)(const Placement& placement, const Uuid& disk_id);
};

// The row of the partition table named `name`; throws Error naming the
// tables there are for another name.
const PartitionTable& partition_table_named(std::string_view name);
// The names of the table's rows, for help texts and messages: "gpt, mbr".
std::string partition_table_names();

}  // namespace vdiskfs
