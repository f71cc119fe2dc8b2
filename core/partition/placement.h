#pragma once
// Where partitions go on a disk, apart from how a partition table encodes
// them: in the order given, each on the next 1 MiB boundary after the
// table's head, and the disk ends on a 1 MiB boundary with room for the
// table's tail. A table that describes only a few partitions in its head
// (MBR: four records) chains the rest (MBR: logical partitions, each
// after its extended boot record): each of those gets 1 MiB-aligned room
// for the table before it. An encoder (gpt.h, mbr.h) then writes the table
// around the placed partitions.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/image/identity.h"
#include "core/image/image.h"

namespace vdiskfs {

// Bytes per logical block (LBA) of the guest disk.
inline constexpr uint64_t kSectorSize = 512;
// Partitions start on this boundary (bytes), as parted and fdisk align them.
inline constexpr uint64_t kPartitionAlignment = 1 << 20;

// What a partition is for; each table encodes it its own way (a GPT type
// GUID, an MBR type byte).
enum class PartitionRole {
  linux_filesystem,  // a Linux filesystem (GPT 0FC63DAF-8483-4772-8E79-3D69D8477DE4)
  bios_boot,         // GRUB's core image on a GPT disk a BIOS boots (GPT 21686148-6449-6E6F-744E-656564454649)
  microsoft_basic_data,  // a FAT or NTFS data volume (GPT EBD0A0A2-B9E5-4433-87C0-68B6B72699C7)
  efi_system,            // the EFI System Partition, FAT (GPT C12A7328-F81F-11D2-BA4B-00A0C93EC93B)
  linux_swap,            // a Linux swap area (GPT 0657FD6D-A4AB-43C4-84E5-0933C84B4F4F)
};

// The role's name as `vdiskfs info` prints it ("efi_system").
std::string_view role_name(PartitionRole role);

// One partition to place.
struct PartitionSpec {
  std::shared_ptr<const Image> content;  // size: a positive multiple of kSectorSize
  PartitionRole role = PartitionRole::linux_filesystem;
  Uuid unique{};     // the partition's own GUID, big-endian RFC 4122 bytes
  std::string name;  // the partition's name, ASCII (GPT keeps 36 characters)
};

// The room a partition table keeps at the start and at the end of the disk,
// and how many partitions it can describe.
struct TableFootprint {
  std::string_view name;  // for messages ("GPT")
  uint64_t head_bytes;    // from the start of the disk
  uint64_t tail_bytes;    // before the end of the disk
  size_t max_partitions;
  // Partitions the head describes itself (MBR: 4 records). When there are
  // more, the last of these slots describes a chain instead (MBR: the
  // extended partition), and the partitions from that slot on are chained.
  size_t head_slots = SIZE_MAX;
  // The table's room before each chained partition (MBR: its extended boot
  // record, one sector), kept in whole kPartitionAlignment units.
  uint64_t chained_room_bytes = 0;
};

// A partition where the placement put it.
struct PlacedPartition {
  PartitionSpec spec;
  uint64_t offset = 0;  // bytes from the start of the disk, a multiple of kPartitionAlignment
  uint64_t size = 0;    // bytes: the content's size
  // A chained partition (TableFootprint::head_slots): where the table's
  // room before it starts (MBR: its EBR), a multiple of kPartitionAlignment
  // below offset; 0 for a partition the head describes.
  uint64_t chain_offset = 0;
};

// Partitions in disk order and the size of the disk that holds them.
struct Placement {
  std::vector<PlacedPartition> partitions;
  uint64_t disk_bytes = 0;  // a multiple of kPartitionAlignment
};

// Places `partitions` one after another, in order, each on the next 1 MiB
// boundary after `table`'s head (a chained one after its room, itself on a
// 1 MiB boundary), and sizes the disk to the next 1 MiB boundary after the
// last partition and the table's tail. Throws Error
// when the table holds fewer partitions, or a content's size is not a
// positive multiple of kSectorSize.
Placement place_partitions(std::vector<PartitionSpec> partitions, const TableFootprint& table);

}  // namespace vdiskfs
