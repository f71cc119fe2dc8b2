#include "core/partition/placement.h"

#include "core/image/arith.h"
#include "core/image/error.h"

namespace vdiskfs {

Placement place_partitions(std::vector<PartitionSpec> partitions, const TableFootprint& table) {
  if (partitions.size() > table.max_partitions)
    fail("{} holds at most {} partitions", table.name, table.max_partitions);
  Placement placement;
  uint64_t cursor = align_up(table.head_bytes, kPartitionAlignment);
  for (PartitionSpec& spec : partitions) {
    const uint64_t size = spec.content->size();
    if (size % kSectorSize != 0 || size == 0) fail("partition size {} is not a positive multiple of {}", size, kSectorSize);
    placement.partitions.push_back({std::move(spec), cursor, size});
    cursor = align_up(cursor + size, kPartitionAlignment);
  }
  placement.disk_bytes = align_up(cursor + table.tail_bytes, kPartitionAlignment);
  return placement;
}

}  // namespace vdiskfs
