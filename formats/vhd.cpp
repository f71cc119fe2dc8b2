#include "formats/vhd.h"

#include <cstring>

#include "core/image/arith.h"
#include "core/image/endian.h"
#include "core/image/log.h"
#include "formats/table_image.h"

namespace vdiskfs {
namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kBlock = 2ull << 20;
constexpr uint64_t kBitmapBytes = kBlock / kSector / 8;  // 512: one bit per sector
constexpr uint64_t kFooterBytes = 512;
constexpr uint64_t kDynHeaderBytes = 1024;
constexpr int64_t kVhdEpoch = 946684800;  // 2000-01-01T00:00:00Z

// Footer field offsets (spec, "Hard Disk Footer Format").
namespace ftr {
constexpr size_t cookie = 0, features = 8, version = 12, data_offset = 16, timestamp = 24,
                 creator_app = 28, creator_version = 32, creator_os = 36, original_size = 40,
                 current_size = 48, geometry = 56, disk_type = 60, checksum = 64, unique_id = 68,
                 saved_state = 84;
}  // namespace ftr
// Dynamic disk header field offsets (spec, "Dynamic Disk Header Format").
namespace dyn {
constexpr size_t cookie = 0, data_offset = 8, table_offset = 16, version = 24, max_entries = 28,
                 block_size = 32, checksum = 36;
}  // namespace dyn

uint32_t ones_complement_sum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i];
  return ~sum;
}

// CHS geometry by the algorithm in the spec's appendix.
void put_chs(uint8_t* p, uint64_t bytes) {
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
  put_be16(p, uint16_t(cth / heads));
  p[2] = uint8_t(heads);
  p[3] = uint8_t(spt);
}

// The 512-byte footer. Creator "win " (as Hyper-V writes): QEMU then takes
// the size from current_size, not from the CHS geometry, so every reader
// sees exactly the raw disk's size.
void write_footer(uint8_t* f, const ContainerInput& in, bool dynamic) {
  std::memset(f, 0, kFooterBytes);
  const uint64_t size = in.disk->size();
  std::memcpy(f + ftr::cookie, "conectix", 8);
  put_be32(f + ftr::features, 2);  // reserved bit, always set
  put_be32(f + ftr::version, 0x00010000);
  put_be64(f + ftr::data_offset, dynamic ? kFooterBytes : ~0ull);
  const int64_t seconds = in.timestamp_ns / 1000000000 - kVhdEpoch;
  put_be32(f + ftr::timestamp, seconds > 0 ? uint32_t(seconds) : 0);
  std::memcpy(f + ftr::creator_app, "win ", 4);
  put_be32(f + ftr::creator_version, 0x000a0000);
  std::memcpy(f + ftr::creator_os, "Wi2k", 4);
  put_be64(f + ftr::original_size, size);
  put_be64(f + ftr::current_size, size);
  put_chs(f + ftr::geometry, size);
  put_be32(f + ftr::disk_type, dynamic ? 3 : 2);
  const Uuid id = in.identity.derive(dynamic ? "vhd-dynamic" : "vhd-fixed");
  std::memcpy(f + ftr::unique_id, id.data(), 16);
  put_be32(f + ftr::checksum, ones_complement_sum(f, kFooterBytes));
}

bool fits(const ContainerInput& in, const char* what) {
  if (in.disk->size() <= kVhdMaxBytes) return true;
  log_warning("no {} for {}: the disk ({} bytes) exceeds VHD's limit of 2040 GiB", what, in.name,
              in.disk->size());
  return false;
}

}  // namespace

std::optional<ContainerFile> build_vhd_dynamic(const ContainerInput& in) {
  if (!fits(in, ".vhd")) return std::nullopt;
  const uint64_t disk_bytes = in.disk->size();
  auto alloc = std::make_shared<AllocationMap>(in.data, kBlock, disk_bytes);
  const uint64_t entries = alloc->total_units();
  const uint64_t bat_offset = kFooterBytes + kDynHeaderBytes;
  const uint64_t bat_bytes = div_up(entries * 4, kSector) * kSector;
  const uint64_t blocks_start = bat_offset + bat_bytes;
  const uint64_t slot_bytes = kBitmapBytes + kBlock;
  const uint64_t footer_at = blocks_start + alloc->allocated() * slot_bytes;

  // Skeleton: [footer copy | dynamic header][bitmap of a full block][footer].
  std::vector<uint8_t> skeleton(kFooterBytes + kDynHeaderBytes + kBitmapBytes + kFooterBytes, 0);
  uint8_t* head = skeleton.data();
  write_footer(head, in, true);
  uint8_t* d = head + kFooterBytes;
  std::memcpy(d + dyn::cookie, "cxsparse", 8);
  put_be64(d + dyn::data_offset, ~0ull);
  put_be64(d + dyn::table_offset, bat_offset);
  put_be32(d + dyn::version, 0x00010000);
  put_be32(d + dyn::max_entries, uint32_t(entries));
  put_be32(d + dyn::block_size, uint32_t(kBlock));
  put_be32(d + dyn::checksum, ones_complement_sum(d, kDynHeaderBytes));
  const uint64_t bitmap_skel = kFooterBytes + kDynHeaderBytes;
  std::memset(head + bitmap_skel, 0xff, kBitmapBytes);  // every sector present
  const uint64_t footer_skel = bitmap_skel + kBitmapBytes;
  std::memcpy(head + footer_skel, head, kFooterBytes);

  auto bat = std::make_shared<TableImage>(entries, 4, [alloc, blocks_start, slot_bytes](uint64_t first, uint64_t count, uint8_t* out) {
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t slot = alloc->ordinal(first + i);
      put_be32(out + 4 * i, slot == AllocationMap::kNone ? 0xffffffffu
                                                         : uint32_t((blocks_start + slot * slot_bytes) / kSector));
    }
  });

  enum Child : uint32_t { kDisk, kBat };
  ExtentMap map;
  map.add({0, kFooterBytes + kDynHeaderBytes, 0, 0, ExtentKind::skeleton});
  map.add({bat_offset, entries * 4, 0, kBat, ExtentKind::image});
  for (const AllocationMap::Run& r : alloc->runs()) {
    for (uint64_t i = 0; i < r.count; ++i) {  // each block: bitmap, then data
      const uint64_t at = blocks_start + (r.ordinal + i) * slot_bytes;
      const uint64_t guest = (r.first + i) * kBlock;
      map.add({at, kBitmapBytes, bitmap_skel, 0, ExtentKind::skeleton});
      map.add({at + kBitmapBytes, std::min(kBlock, disk_bytes - guest), guest, kDisk, ExtentKind::image});
    }
  }
  map.add({footer_at, kFooterBytes, footer_skel, 0, ExtentKind::skeleton});

  ContainerFile file;
  file.suffix = ".vhd";
  file.allocated_bytes = footer_at + kFooterBytes;
  file.image = make_container_image(footer_at + kFooterBytes, std::move(map), std::move(skeleton), {in.disk, bat});
  return file;
}

std::optional<ContainerFile> build_vhd_fixed(const ContainerInput& in) {
  if (!fits(in, "-fixed.vhd")) return std::nullopt;
  const uint64_t disk_bytes = in.disk->size();
  std::vector<uint8_t> skeleton(kFooterBytes, 0);
  write_footer(skeleton.data(), in, false);
  ExtentMap map;
  map.add({0, disk_bytes, 0, 0, ExtentKind::image});
  map.add({disk_bytes, kFooterBytes, 0, 0, ExtentKind::skeleton});
  ContainerFile file;
  file.suffix = "-fixed.vhd";
  file.allocated_bytes = disk_bytes + kFooterBytes;
  file.image = make_container_image(disk_bytes + kFooterBytes, std::move(map), std::move(skeleton), {in.disk});
  return file;
}

}  // namespace vdiskfs
