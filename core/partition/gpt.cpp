#include "core/partition/gpt.h"

#include <zlib.h>

#include <cstring>

#include "core/image/arith.h"
#include "core/image/endian.h"
#include "core/image/error.h"
#include "core/image/mapped_image.h"

namespace vdiskfs {

const Uuid kGptTypeLinuxFilesystem = {0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47,
                                      0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4};
const Uuid kGptTypeBiosBoot = {0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6F, 0x6E,
                               0x74, 0x4E, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49};

namespace {

constexpr uint32_t kEntryCount = 128;
constexpr uint32_t kEntrySize = 128;
constexpr uint64_t kEntryArraySectors = kEntryCount * kEntrySize / kSectorSize;  // 32
constexpr uint32_t kHeaderSize = 92;

uint32_t crc32_of(const uint8_t* p, size_t n) {
  return uint32_t(crc32(crc32(0L, Z_NULL, 0), p, uInt(n)));
}

// GPT header field offsets (UEFI spec table 5-5).
struct HeaderOffsets {
  static constexpr size_t signature = 0x00, revision = 0x08, header_size = 0x0C,
                          header_crc = 0x10, my_lba = 0x18, alternate_lba = 0x20,
                          first_usable = 0x28, last_usable = 0x30, disk_guid = 0x38,
                          entries_lba = 0x48, entry_count = 0x50, entry_size = 0x54,
                          entries_crc = 0x58;
};

void write_header(uint8_t* h, uint64_t my_lba, uint64_t alternate_lba, uint64_t first_usable,
                  uint64_t last_usable, const Uuid& disk_guid, uint64_t entries_lba,
                  uint32_t entries_crc) {
  using O = HeaderOffsets;
  std::memcpy(h + O::signature, "EFI PART", 8);
  put_le32(h + O::revision, 0x00010000);
  put_le32(h + O::header_size, kHeaderSize);
  put_le64(h + O::my_lba, my_lba);
  put_le64(h + O::alternate_lba, alternate_lba);
  put_le64(h + O::first_usable, first_usable);
  put_le64(h + O::last_usable, last_usable);
  std::memcpy(h + O::disk_guid, disk_guid.data(), 16);
  put_le64(h + O::entries_lba, entries_lba);
  put_le32(h + O::entry_count, kEntryCount);
  put_le32(h + O::entry_size, kEntrySize);
  put_le32(h + O::entries_crc, entries_crc);
  put_le32(h + O::header_crc, 0);
  put_le32(h + O::header_crc, crc32_of(h, kHeaderSize));
}

void write_protective_mbr(uint8_t* mbr, uint64_t disk_sectors) {
  uint8_t* e = mbr + 446;
  e[0] = 0x00;                        // not bootable
  e[1] = 0x00; e[2] = 0x02; e[3] = 0x00;  // CHS of LBA 1
  e[4] = 0xEE;                        // GPT protective
  e[5] = 0xFF; e[6] = 0xFF; e[7] = 0xFF;
  put_le32(e + 8, 1);
  const uint64_t n = disk_sectors - 1;
  put_le32(e + 12, n > 0xFFFFFFFFull ? 0xFFFFFFFFu : uint32_t(n));
  mbr[510] = 0x55;
  mbr[511] = 0xAA;
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

std::shared_ptr<const Image> build_gpt_disk(const std::vector<GptPartitionSpec>& partitions,
                                            const Uuid& disk_guid,
                                            std::vector<GptPartitionPlacement>* placements) {
  if (partitions.size() > kEntryCount) fail("GPT holds at most {} partitions", kEntryCount);
  // Place partitions, each at the next 1 MiB boundary.
  std::vector<GptPartitionPlacement> placed;
  uint64_t cursor = kPartitionAlignment;
  for (const auto& p : partitions) {
    if (p.content->size() % kSectorSize != 0 || p.content->size() == 0)
      fail("partition size {} is not a positive multiple of 512", p.content->size());
    placed.push_back({cursor, p.content->size()});
    cursor = align_up(cursor + p.content->size(), kPartitionAlignment);
  }
  // Room for the backup array and header, then round the disk to 1 MiB.
  const uint64_t disk_bytes =
      align_up(cursor + (kEntryArraySectors + 1) * kSectorSize, kPartitionAlignment);
  const uint64_t disk_sectors = disk_bytes / kSectorSize;
  const uint64_t first_usable = 2 + kEntryArraySectors;
  const uint64_t last_usable = disk_sectors - 2 - kEntryArraySectors;

  // The entry array, shared by the primary and backup copies.
  std::vector<uint8_t> entries(kEntryCount * kEntrySize, 0);
  for (size_t i = 0; i < partitions.size(); ++i) {
    uint8_t* e = entries.data() + i * kEntrySize;
    std::memcpy(e, partitions[i].type.data(), 16);
    const Uuid unique = gpt_guid_bytes(partitions[i].unique);
    std::memcpy(e + 16, unique.data(), 16);
    put_le64(e + 32, placed[i].offset / kSectorSize);
    put_le64(e + 40, (placed[i].offset + placed[i].size) / kSectorSize - 1);
    put_le64(e + 48, 0);
    const std::string& name = partitions[i].name;
    for (size_t c = 0; c < name.size() && c < 36; ++c) put_le16(e + 56 + 2 * c, uint8_t(name[c]));
  }
  const uint32_t entries_crc = crc32_of(entries.data(), entries.size());
  const Uuid disk_guid_bytes = gpt_guid_bytes(disk_guid);

  // Skeleton: [head: MBR, header, entries][tail: entries, header].
  const size_t head_bytes = size_t(first_usable * kSectorSize);
  const size_t tail_bytes = size_t((kEntryArraySectors + 1) * kSectorSize);
  std::vector<uint8_t> skeleton(head_bytes + tail_bytes, 0);
  uint8_t* head = skeleton.data();
  uint8_t* tail = skeleton.data() + head_bytes;
  write_protective_mbr(head, disk_sectors);
  std::memcpy(head + 2 * kSectorSize, entries.data(), entries.size());
  write_header(head + kSectorSize, 1, disk_sectors - 1, first_usable, last_usable,
               disk_guid_bytes, 2, entries_crc);
  std::memcpy(tail, entries.data(), entries.size());
  write_header(tail + kEntryArraySectors * kSectorSize, disk_sectors - 1, 1, first_usable,
               last_usable, disk_guid_bytes, disk_sectors - 1 - kEntryArraySectors, entries_crc);

  ExtentMap map;
  map.add({0, head_bytes, 0, 0, ExtentKind::skeleton});
  map.add({disk_bytes - tail_bytes, tail_bytes, head_bytes, 0, ExtentKind::skeleton});
  std::vector<std::shared_ptr<const Image>> children;
  for (size_t i = 0; i < partitions.size(); ++i) {
    map.add({placed[i].offset, placed[i].size, 0, uint32_t(i), ExtentKind::image});
    children.push_back(partitions[i].content);
  }
  if (!map.finish()) fail("internal error: GPT layout overlaps");
  if (placements) *placements = placed;
  return std::make_shared<MappedImage>(disk_bytes, std::move(map), std::move(skeleton), nullptr,
                                       std::move(children));
}

}  // namespace vdiskfs
