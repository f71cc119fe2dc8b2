#include "formats/vhd.h"

#include <cstring>

#include "core/image/arith.h"
#include "core/image/endian.h"
#include "formats/table_image.h"
#include "formats/vhd_header.h"

namespace vdiskfs {
namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kBitmapBytes = kVhdBlockBytes / kSector / 8;  // 512: one bit per sector
constexpr uint64_t kBatEntryBytes = 4;  // a BAT entry: a 32-bit sector number
constexpr uint32_t kBatUnused = 0xffffffffu;
constexpr uint64_t kFooterBytes = sizeof(VhdFooter);
constexpr uint64_t kDynHeaderBytes = sizeof(VhdDynamicHeader);
constexpr int64_t kVhdEpoch = 946684800;  // 2000-01-01T00:00:00Z
constexpr uint32_t kVersion = 0x00010000;  // of the file format and of the dynamic header
constexpr uint32_t kDiskTypeFixed = 2, kDiskTypeDynamic = 3;

// The one's complement of the byte sum of an on-disk struct (its checksum
// field zero).
template <typename T>
uint32_t ones_complement_sum(const T& s) {
  const auto* p = reinterpret_cast<const uint8_t*>(&s);
  uint32_t sum = 0;
  for (size_t i = 0; i < sizeof(T); ++i) sum += p[i];
  return ~sum;
}

// CHS geometry by the algorithm in the spec's appendix.
VhdGeometry chs(uint64_t bytes) {
  uint64_t total = bytes / kSector;
  if (total > 65535ull * 16 * 255) total = 65535ull * 16 * 255;
  uint64_t spt, heads, cth;
  if (total >= 65535ull * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = total / spt;
  } else {
    spt = 17;
    cth = total / spt;
    heads = (cth + 1023) / 1024;
    if (heads < 4) heads = 4;
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = total / spt;
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = total / spt;
    }
  }
  VhdGeometry g{};
  g.cylinders = uint16_t(cth / heads);
  g.heads = uint8_t(heads);
  g.sectors_per_track = uint8_t(spt);
  return g;
}

// The footer. Creator "win " (as Hyper-V writes): QEMU then takes the size
// from current_size, not from the CHS geometry, so every reader sees
// exactly the raw disk's size.
VhdFooter footer(const ContainerInput& in, bool dynamic) {
  const uint64_t size = in.disk->size();
  VhdFooter f{};
  std::memcpy(f.cookie, "conectix", sizeof(f.cookie));
  f.features = 2;  // reserved bit, always set
  f.file_format_version = kVersion;
  f.data_offset = dynamic ? kFooterBytes : ~0ull;  // the dynamic header follows the footer copy
  const int64_t seconds = in.timestamp_ns / 1000000000 - kVhdEpoch;
  f.timestamp = seconds > 0 ? uint32_t(seconds) : 0;
  std::memcpy(f.creator_application, "win ", sizeof(f.creator_application));
  f.creator_version = 0x000a0000;
  std::memcpy(f.creator_host_os, "Wi2k", sizeof(f.creator_host_os));
  f.original_size = size;
  f.current_size = size;
  f.disk_geometry = chs(size);
  f.disk_type = dynamic ? kDiskTypeDynamic : kDiskTypeFixed;
  const Uuid id = in.identity.derive(dynamic ? "vhd-dynamic" : "vhd-fixed");
  std::memcpy(f.unique_id, id.data(), sizeof(f.unique_id));
  f.checksum = ones_complement_sum(f);
  return f;
}

// The dynamic disk header of a BAT of `entries` at `bat_offset`.
VhdDynamicHeader dynamic_header(uint64_t bat_offset, uint64_t entries) {
  VhdDynamicHeader d{};
  std::memcpy(d.cookie, "cxsparse", sizeof(d.cookie));
  d.data_offset = ~0ull;
  d.table_offset = bat_offset;
  d.header_version = kVersion;
  d.max_table_entries = uint32_t(entries);
  d.block_size = uint32_t(kVhdBlockBytes);
  d.checksum = ones_complement_sum(d);
  return d;
}

}  // namespace

ContainerFile build_vhd_dynamic(const ContainerInput& in, std::string_view suffix) {
  const uint64_t disk_bytes = in.disk->size();
  auto alloc = std::make_shared<AllocationMap>(in.data, kVhdBlockBytes, disk_bytes);
  const uint64_t entries = alloc->total_units();
  const uint64_t bat_offset = kFooterBytes + kDynHeaderBytes;
  const uint64_t bat_bytes = div_up(entries * kBatEntryBytes, kSector) * kSector;
  const uint64_t blocks_start = bat_offset + bat_bytes;
  const uint64_t slot_bytes = kBitmapBytes + kVhdBlockBytes;
  const uint64_t footer_at = blocks_start + alloc->allocated() * slot_bytes;

  // Skeleton: [footer copy | dynamic header][bitmap of a full block][footer].
  std::vector<uint8_t> skeleton(kFooterBytes + kDynHeaderBytes + kBitmapBytes + kFooterBytes, 0);
  uint8_t* head = skeleton.data();
  const VhdFooter foot = footer(in, true);
  store(head, foot);
  store(head + kFooterBytes, dynamic_header(bat_offset, entries));
  const uint64_t bitmap_skel = kFooterBytes + kDynHeaderBytes;
  std::memset(head + bitmap_skel, 0xff, kBitmapBytes);  // every sector present
  const uint64_t footer_skel = bitmap_skel + kBitmapBytes;
  store(head + footer_skel, foot);

  auto bat = std::make_shared<TableImage>(entries, kBatEntryBytes, [alloc, blocks_start, slot_bytes](uint64_t first, uint64_t count, uint8_t* out) {
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t slot = alloc->ordinal(first + i);
      put_be32(out + kBatEntryBytes * i, slot == AllocationMap::kNone ? kBatUnused
                                                         : uint32_t((blocks_start + slot * slot_bytes) / kSector));
    }
  });

  enum Child : uint32_t { kDisk, kBat };
  ExtentMap map;
  map.add({0, kFooterBytes + kDynHeaderBytes, 0, 0, ExtentKind::skeleton});
  map.add({bat_offset, entries * kBatEntryBytes, 0, kBat, ExtentKind::image});
  for (const AllocationMap::Run& r : alloc->runs()) {
    for (uint64_t i = 0; i < r.count; ++i) {  // each block: bitmap, then data
      const uint64_t at = blocks_start + (r.ordinal + i) * slot_bytes;
      const uint64_t guest = (r.first + i) * kVhdBlockBytes;
      map.add({at, kBitmapBytes, bitmap_skel, 0, ExtentKind::skeleton});
      map.add({at + kBitmapBytes, std::min(kVhdBlockBytes, disk_bytes - guest), guest, kDisk, ExtentKind::image});
    }
  }
  map.add({footer_at, kFooterBytes, footer_skel, 0, ExtentKind::skeleton});

  ContainerFile file;
  file.suffix = suffix;
  file.allocated_bytes = footer_at + kFooterBytes;
  file.image = make_container_image(footer_at + kFooterBytes, std::move(map), std::move(skeleton), {in.disk, bat});
  return file;
}

ContainerFile build_vhd_fixed(const ContainerInput& in, std::string_view suffix) {
  const uint64_t disk_bytes = in.disk->size();
  std::vector<uint8_t> skeleton(kFooterBytes, 0);
  store(skeleton.data(), footer(in, false));
  ExtentMap map;
  map.add({0, disk_bytes, 0, 0, ExtentKind::image});
  map.add({disk_bytes, kFooterBytes, 0, 0, ExtentKind::skeleton});
  ContainerFile file;
  file.suffix = suffix;
  file.allocated_bytes = disk_bytes + kFooterBytes;
  file.image = make_container_image(disk_bytes + kFooterBytes, std::move(map), std::move(skeleton), {in.disk});
  return file;
}

}  // namespace vdiskfs
