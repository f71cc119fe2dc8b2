#include "core/partition/gpt.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/image/error.h"
#include "core/image/mapped_image.h"
#include "core/partition/mbr_format.h"

namespace vdiskfs {
namespace {

// GPT partition type GUIDs in their on-disk (mixed-endian) byte order.
constexpr Uuid kTypeLinuxFilesystem = {0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47,
                                       0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4};
constexpr Uuid kTypeBiosBoot = {0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6F, 0x6E,
                                0x74, 0x4E, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49};
constexpr Uuid kTypeMicrosoftBasicData = {0xA2, 0xA0, 0xD0, 0xEB, 0xE5, 0xB9, 0x33, 0x44,
                                          0x87, 0xC0, 0x68, 0xB6, 0xB7, 0x26, 0x99, 0xC7};
constexpr Uuid kTypeEfiSystem = {0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11,
                                 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B};
constexpr Uuid kTypeLinuxSwap = {0x6D, 0xFD, 0x57, 0x06, 0xAB, 0xA4, 0xC4, 0x43,
                                 0x84, 0xE5, 0x09, 0x33, 0xC8, 0x4B, 0x4F, 0x4F};

// Protective MBR record CHS addresses (table 5-4): LBA 1 (head 0, sector 2,
// cylinder 0), and the end as "beyond what CHS can address".
constexpr uint8_t kChsOfLba1[3] = {0x00, 0x02, 0x00};
constexpr uint8_t kChsBeyondRange[3] = {0xFF, 0xFF, 0xFF};

uint32_t crc32_of(const uint8_t* p, size_t n) {
  return uint32_t(crc32(crc32(0L, Z_NULL, 0), p, uInt(n)));
}

Uuid type_guid(PartitionRole role) {
  switch (role) {
    case PartitionRole::linux_filesystem: return kTypeLinuxFilesystem;
    case PartitionRole::bios_boot: return kTypeBiosBoot;
    case PartitionRole::microsoft_basic_data: return kTypeMicrosoftBasicData;
    case PartitionRole::efi_system: return kTypeEfiSystem;
    case PartitionRole::linux_swap: return kTypeLinuxSwap;
  }
  fail("internal error: partition role {} has no GPT type", int(role));
}

MasterBootRecord protective_mbr(uint64_t disk_sectors) {
  MasterBootRecord mbr{};
  MbrPartitionRecord& r = mbr.partition_record[0];
  std::memcpy(r.starting_chs, kChsOfLba1, sizeof r.starting_chs);
  r.os_type = kMbrTypeGptProtective;
  std::memcpy(r.ending_chs, kChsBeyondRange, sizeof r.ending_chs);
  r.starting_lba = kGptPrimaryHeaderLba;
  r.size_in_lba = uint32_t(std::min<uint64_t>(disk_sectors - 1, std::numeric_limits<uint32_t>::max()));
  mbr.signature = kMbrSignature;
  return mbr;
}

GptPartitionEntry partition_entry(const PlacedPartition& part) {
  GptPartitionEntry e{};
  e.partition_type_guid = type_guid(part.spec.role);
  e.unique_partition_guid = gpt_guid_bytes(part.spec.unique);
  e.starting_lba = part.offset / kSectorSize;
  e.ending_lba = (part.offset + part.size) / kSectorSize - 1;
  const std::string& name = part.spec.name;
  for (size_t c = 0; c < name.size() && c < std::size(e.partition_name); ++c) e.partition_name[c] = uint8_t(name[c]);
  return e;
}

// The entry array, the same in the primary and backup copies.
std::vector<uint8_t> entry_array(const Placement& placement) {
  std::vector<uint8_t> bytes(kGptEntryCount * sizeof(GptPartitionEntry), 0);
  for (size_t i = 0; i < placement.partitions.size(); ++i)
    store(bytes.data() + i * sizeof(GptPartitionEntry), partition_entry(placement.partitions[i]));
  return bytes;
}

// Sets the header's CRC32 (computed with the field zero) and writes it at `p`.
void store_sealed(uint8_t* p, GptHeader h) {
  h.header_crc32 = 0;
  store(p, h);
  h.header_crc32 = crc32_of(p, sizeof h);
  store(p, h);
}

}  // namespace

Uuid gpt_guid_bytes(const Uuid& u) {
  Uuid g = u;
  std::swap(g[0], g[3]);
  std::swap(g[1], g[2]);
  std::swap(g[4], g[5]);
  std::swap(g[6], g[7]);
  return g;
}

std::shared_ptr<const Image> encode_gpt(const Placement& placement, const Uuid& disk_guid) {
  const uint64_t disk_bytes = placement.disk_bytes;
  const uint64_t last_lba = disk_bytes / kSectorSize - 1;
  const uint64_t backup_entries_lba = last_lba - kGptEntryArraySectors;
  const std::vector<uint8_t> entries = entry_array(placement);

  GptHeader primary{};
  std::memcpy(primary.signature, kGptSignature, sizeof primary.signature);
  primary.revision = kGptRevision;
  primary.header_size = uint32_t(sizeof(GptHeader));
  primary.my_lba = kGptPrimaryHeaderLba;
  primary.alternate_lba = last_lba;
  primary.first_usable_lba = kGptPrimaryEntriesLba + kGptEntryArraySectors;
  primary.last_usable_lba = backup_entries_lba - 1;
  primary.disk_guid = gpt_guid_bytes(disk_guid);
  primary.partition_entry_lba = kGptPrimaryEntriesLba;
  primary.number_of_partition_entries = kGptEntryCount;
  primary.size_of_partition_entry = uint32_t(sizeof(GptPartitionEntry));
  primary.partition_entry_array_crc32 = crc32_of(entries.data(), entries.size());
  GptHeader backup = primary;
  backup.my_lba = last_lba;
  backup.alternate_lba = kGptPrimaryHeaderLba;
  backup.partition_entry_lba = backup_entries_lba;

  // Skeleton: [head: MBR, header, entries][tail: entries, header].
  const uint64_t head_bytes = kGptFootprint.head_bytes, tail_bytes = kGptFootprint.tail_bytes;
  std::vector<uint8_t> skeleton(head_bytes + tail_bytes, 0);
  uint8_t* head = skeleton.data();
  uint8_t* tail = skeleton.data() + head_bytes;
  store(head, protective_mbr(last_lba + 1));
  store_sealed(head + kGptPrimaryHeaderLba * kSectorSize, primary);
  std::memcpy(head + kGptPrimaryEntriesLba * kSectorSize, entries.data(), entries.size());
  std::memcpy(tail, entries.data(), entries.size());
  store_sealed(tail + kGptEntryArraySectors * kSectorSize, backup);

  ExtentMap map;
  map.add({0, head_bytes, 0, 0, ExtentKind::skeleton});
  map.add({disk_bytes - tail_bytes, tail_bytes, head_bytes, 0, ExtentKind::skeleton});
  std::vector<std::shared_ptr<const Image>> children;
  for (const PlacedPartition& part : placement.partitions) {
    map.add({part.offset, part.size, 0, uint32_t(children.size()), ExtentKind::image});
    children.push_back(part.spec.content);
  }
  if (!map.finish()) fail("internal error: GPT layout overlaps");
  return std::make_shared<MappedImage>(disk_bytes, std::move(map), std::move(skeleton), nullptr,
                                       std::move(children));
}

}  // namespace vdiskfs
