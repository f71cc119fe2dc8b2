#include "core/partition/placement.h"

#include "core/image/arith.h"
#include "core/image/error.h"

namespace vdiskfs {

std::string_view role_name(PartitionRole role) {
  switch (role) {
    case PartitionRole::linux_filesystem: return "linux_filesystem";
    case PartitionRole::bios_boot: return "bios_boot";
    case PartitionRole::microsoft_basic_data: return "microsoft_basic_data";
    case PartitionRole::efi_system: return "efi_system";
    case PartitionRole::linux_swap: return "linux_swap";
  }
  return "?";
}

Placement place_partitions(std::vector<PartitionSpec> partitions, const TableFootprint& table) {
  if (partitions.size() > table.max_partitions)
    fail("{} holds at most {} partitions", table.name, table.max_partitions);
  // With more partitions than head slots, the last slot holds the chain.
  const size_t first_chained = partitions.size() > table.head_slots ? table.head_slots - 1 : partitions.size();
  const uint64_t chained_room = align_up(table.chained_room_bytes, kPartitionAlignment);
  Placement placement;
  uint64_t cursor = align_up(table.head_bytes, kPartitionAlignment);
  for (size_t i = 0; i < partitions.size(); ++i) {
    PartitionSpec& spec = partitions[i];
    const uint64_t size = spec.content->size();
    if (size % kSectorSize != 0 || size == 0) fail("partition size {} is not a positive multiple of {}", size, kSectorSize);
    const uint64_t chain_offset = i >= first_chained ? cursor : 0;
    if (i >= first_chained) cursor += chained_room;
    placement.partitions.push_back({std::move(spec), cursor, size, chain_offset});
    cursor = align_up(cursor + size, kPartitionAlignment);
  }
  placement.disk_bytes = align_up(cursor + table.tail_bytes, kPartitionAlignment);
  return placement;
}

}  // namespace vdiskfs
