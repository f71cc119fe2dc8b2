#include "core/partition/mbr.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "core/image/error.h"
#include "core/image/mapped_image.h"

namespace vdiskfs {
namespace {

// The geometry fdisk assumes for CHS addresses, and the cylinders CHS holds.
constexpr uint64_t kChsHeads = 255;
constexpr uint64_t kChsSectorsPerTrack = 63;
constexpr uint64_t kChsCylinders = 1024;
// The last LBA with a CHS address of its own: cylinder 1023, head 254, sector 63.
constexpr uint64_t kLastChsLba = kChsCylinders * kChsHeads * kChsSectorsPerTrack - 1;

// MbrPartitionRecord::os_type of each role. FAT32 volumes with LBA
// addressing are 0x0C, the type Windows and Linux give them.
uint8_t type_byte(PartitionRole role) {
  switch (role) {
    case PartitionRole::linux_filesystem: return 0x83;
    case PartitionRole::linux_swap: return 0x82;
    case PartitionRole::microsoft_basic_data: return 0x0C;
    case PartitionRole::efi_system: return 0xEF;
    case PartitionRole::bios_boot:
      fail("--bios-boot is for GPT disks: an MBR disk keeps GRUB's core image in the gap before its first "
           "partition, which starts at 1 MiB");
  }
  fail("internal error: partition role {} has no MBR type", int(role));
}

// The CHS address of `lba` in the 3-byte form of MbrPartitionRecord (head;
// sector in bits 0-5 with cylinder bits 8-9 above; cylinder bits 0-7), as
// fdisk computes it; beyond 1024 cylinders, the last address (FE FF FF),
// which tells readers to use the LBA fields.
void set_chs(uint8_t (&chs)[3], uint64_t lba) {
  lba = std::min(lba, kLastChsLba);
  const uint64_t cylinder = lba / (kChsHeads * kChsSectorsPerTrack);
  const uint64_t head = lba / kChsSectorsPerTrack % kChsHeads;
  const uint64_t sector = lba % kChsSectorsPerTrack + 1;
  chs[0] = uint8_t(head);
  chs[1] = uint8_t(sector | (cylinder >> 2 & 0xC0));
  chs[2] = uint8_t(cylinder);
}

// The record of `sectors` sectors from absolute `first_lba`, its LBA stored
// relative to `base_lba` (0 in the MBR; an EBR's or the extended
// partition's LBA in an EBR). CHS addresses are always absolute.
MbrPartitionRecord record(uint8_t type, uint64_t first_lba, uint64_t sectors, uint64_t base_lba) {
  MbrPartitionRecord r{};
  set_chs(r.starting_chs, first_lba);
  r.os_type = type;
  set_chs(r.ending_chs, first_lba + sectors - 1);
  r.starting_lba = uint32_t(first_lba - base_lba);
  r.size_in_lba = uint32_t(sectors);
  return r;
}

// The record of a placed partition; a logical one relative to its EBR.
MbrPartitionRecord partition_record(const PlacedPartition& part) {
  return record(type_byte(part.spec.role), part.offset / kSectorSize, part.size / kSectorSize,
                part.chain_offset / kSectorSize);
}

// The record of a logical partition's room: from its EBR to its end.
MbrPartitionRecord room_record(uint8_t type, const PlacedPartition& first, const PlacedPartition& last,
                               uint64_t base_lba) {
  const uint64_t start = first.chain_offset / kSectorSize;
  return record(type, start, (last.offset + last.size) / kSectorSize - start, base_lba);
}

void refuse_beyond_mbr(uint64_t disk_bytes) {
  if (disk_bytes > kMbrMaxDiskBytes)
    fail("the disk would be {} bytes ({:.2f} TiB), beyond the 2 TiB (2^32 sectors) an MBR can describe: "
         "use GPT (--table gpt)",
         disk_bytes, double(disk_bytes) / double(uint64_t(1) << 40));
}

}  // namespace

std::shared_ptr<const Image> encode_mbr(const Placement& placement, const Uuid& disk_id) {
  refuse_beyond_mbr(placement.disk_bytes);
  const std::vector<PlacedPartition>& parts = placement.partitions;
  const auto first_logical = std::find_if(parts.begin(), parts.end(),
                                          [](const PlacedPartition& p) { return p.chain_offset != 0; });
  const size_t primaries = size_t(first_logical - parts.begin());
  const size_t logicals = parts.size() - primaries;
  if (primaries + (logicals ? 1 : 0) > kMbrPrimarySlots) fail("internal error: MBR placement has {} primaries", primaries);

  MasterBootRecord mbr{};
  mbr.unique_mbr_disk_signature = load<le32>(disk_id.data());
  for (size_t i = 0; i < primaries; ++i) mbr.partition_record[i] = partition_record(parts[i]);
  // Partition 1 is the active one, as installers mark it for a BIOS boot:
  // GRUB's boot code ignores the flag, but some BIOSes boot no disk
  // without an active partition.
  if (!parts.empty()) mbr.partition_record[0].boot_indicator = kMbrBootable;
  if (logicals) mbr.partition_record[primaries] = room_record(kMbrTypeExtendedLba, *first_logical, parts.back(), 0);
  mbr.signature = kMbrSignature;

  // Skeleton: [MBR][EBR of each logical partition, in order].
  std::vector<uint8_t> skeleton((1 + logicals) * kSectorSize, 0);
  store(skeleton.data(), mbr);
  ExtentMap map;
  map.add({0, kSectorSize, 0, 0, ExtentKind::skeleton});
  const uint64_t extended_lba = logicals ? first_logical->chain_offset / kSectorSize : 0;
  for (size_t k = 0; k < logicals; ++k) {
    const PlacedPartition& part = parts[primaries + k];
    ExtendedBootRecord ebr{};
    ebr.logical = partition_record(part);
    if (k + 1 < logicals) {
      const PlacedPartition& next = parts[primaries + k + 1];
      ebr.next = room_record(kMbrTypeExtendedLink, next, next, extended_lba);
    }
    ebr.signature = kMbrSignature;
    store(skeleton.data() + (1 + k) * kSectorSize, ebr);
    map.add({part.chain_offset, kSectorSize, (1 + k) * kSectorSize, 0, ExtentKind::skeleton});
  }
  std::vector<std::shared_ptr<const Image>> children;
  for (const PlacedPartition& part : parts) {
    map.add({part.offset, part.size, 0, uint32_t(children.size()), ExtentKind::image});
    children.push_back(part.spec.content);
  }
  if (!map.finish()) fail("internal error: MBR layout overlaps");
  return std::make_shared<MappedImage>(placement.disk_bytes, std::move(map), std::move(skeleton), nullptr,
                                       std::move(children));
}

}  // namespace vdiskfs
