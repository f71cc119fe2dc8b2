#include "formats/vmdk.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "core/image/arith.h"
#include "core/image/endian.h"
#include "core/image/error.h"
#include "formats/table_image.h"

namespace vdiskfs {
namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kGrainSectors = 128;  // 64 KiB grains
constexpr uint64_t kGrain = kGrainSectors * kSector;
constexpr uint64_t kGtEntries = 512;     // numGTEsPerGT
constexpr uint64_t kDescriptorSectors = 20;

// SparseExtentHeader field offsets (VMDK 1.1, "Hosted Sparse Extent Header").
namespace hdr {
constexpr size_t magic = 0, version = 4, flags = 8, capacity = 12, grain_size = 20,
                 descriptor_offset = 28, descriptor_size = 36, num_gtes_per_gt = 44, rgd_offset = 48,
                 gd_offset = 56, overhead = 64, unclean_shutdown = 72, single_end_line = 73,
                 non_end_line = 74, double_end_line1 = 75, double_end_line2 = 76, compress = 77;
}  // namespace hdr
constexpr uint32_t kMagic = 0x564d444b;  // "KDMV"

// IDE geometry as VMware writes it: 16 heads, 63 sectors per track.
std::string ddb_geometry(uint64_t sectors, unsigned heads, unsigned spt) {
  const uint64_t cylinders = std::min<uint64_t>(sectors / (heads * spt), 16383);
  return fmt::format("ddb.geometry.cylinders = \"{}\"\nddb.geometry.heads = \"{}\"\n"
                     "ddb.geometry.sectors = \"{}\"\n",
                     cylinders, heads, spt);
}

// The content id: 32 bits of the identity, never ffffffff.
uint32_t content_id(const Identity& id) {
  const Uuid u = id.derive("vmdk-cid");
  uint32_t cid = get_le32(u.data());
  return cid == 0xffffffffu ? 0xfffffffeu : cid;
}

std::string descriptor(const ContainerInput& in, const char* create_type, const std::string& extent,
                       const char* adapter, unsigned heads) {
  const uint64_t sectors = in.disk->size() / kSector;
  return fmt::format(
      "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID={:08x}\nparentCID=ffffffff\n"
      "createType=\"{}\"\n\n# Extent description\n{}\n\n# The Disk Data Base\n#DDB\n\n"
      "ddb.virtualHWVersion = \"4\"\nddb.adapterType = \"{}\"\n{}ddb.uuid.image = \"{}\"\n",
      content_id(in.identity), create_type, extent, adapter, ddb_geometry(sectors, heads, 63),
      uuid_to_string(in.identity.derive("vmdk-image-uuid")));
}

}  // namespace

ContainerFile build_vmdk_sparse(const ContainerInput& in) {
  const uint64_t disk_bytes = in.disk->size();
  const uint64_t capacity = div_up(disk_bytes, kSector);
  auto alloc = std::make_shared<AllocationMap>(in.data, kGrain, disk_bytes);
  const uint64_t gts = div_up(alloc->total_units(), kGtEntries);
  const uint64_t gd_sectors = div_up(gts * 4, kSector);
  const uint64_t gt_sectors = gts * kGtEntries * 4 / kSector;

  // Sectors: header | descriptor | RGD | RGTs | GD | GTs | (pad) | grains.
  const uint64_t rgd = 1 + kDescriptorSectors;
  const uint64_t rgt = rgd + gd_sectors;
  const uint64_t gd = rgt + gt_sectors;
  const uint64_t gt = gd + gd_sectors;
  const uint64_t overhead = div_up(gt + gt_sectors, kGrainSectors) * kGrainSectors;

  std::vector<uint8_t> skeleton((1 + kDescriptorSectors) * kSector, 0);
  uint8_t* h = skeleton.data();
  put_le32(h + hdr::magic, kMagic);
  put_le32(h + hdr::version, 1);
  put_le32(h + hdr::flags, 0x3);  // valid newline detection, redundant grain table
  put_le64(h + hdr::capacity, capacity);
  put_le64(h + hdr::grain_size, kGrainSectors);
  put_le64(h + hdr::descriptor_offset, 1);
  put_le64(h + hdr::descriptor_size, kDescriptorSectors);
  put_le32(h + hdr::num_gtes_per_gt, kGtEntries);
  put_le64(h + hdr::rgd_offset, rgd);
  put_le64(h + hdr::gd_offset, gd);
  put_le64(h + hdr::overhead, overhead);
  h[hdr::unclean_shutdown] = 0;
  h[hdr::single_end_line] = '\n';
  h[hdr::non_end_line] = ' ';
  h[hdr::double_end_line1] = '\r';
  h[hdr::double_end_line2] = '\n';
  put_le16(h + hdr::compress, 0);
  const std::string text = descriptor(in, "monolithicSparse",
                                      fmt::format("RW {} SPARSE \"{}.vmdk\"", capacity, in.name), "ide", 16);
  if (text.size() > kDescriptorSectors * kSector) fail("VMDK descriptor too long for {}", in.name);
  std::memcpy(h + kSector, text.data(), text.size());  // the rest stays zero: room to rewrite

  auto directory = [gts](uint64_t tables_start) {
    return std::make_shared<TableImage>(gts, 4, [tables_start](uint64_t first, uint64_t count, uint8_t* out) {
      for (uint64_t i = 0; i < count; ++i)
        put_le32(out + 4 * i, uint32_t(tables_start + (first + i) * (kGtEntries * 4 / kSector)));
    });
  };
  auto tables = std::make_shared<TableImage>(
      gts * kGtEntries, 4, [alloc, overhead](uint64_t first, uint64_t count, uint8_t* out) {
        for (uint64_t i = 0; i < count; ++i) {
          const uint64_t grain = first + i;
          const uint64_t slot = grain < alloc->total_units() ? alloc->ordinal(grain) : AllocationMap::kNone;
          put_le32(out + 4 * i, slot == AllocationMap::kNone ? 0 : uint32_t(overhead + slot * kGrainSectors));
        }
      });
  if (overhead + alloc->allocated() * kGrainSectors > 0xffffffffull)
    fail("disk too large for a monolithicSparse VMDK (grain offsets exceed 32 bits)");

  enum Child : uint32_t { kDisk, kRgd, kGd, kTables };
  ExtentMap map;
  map.add({0, skeleton.size(), 0, 0, ExtentKind::skeleton});
  map.add({rgd * kSector, gts * 4, 0, kRgd, ExtentKind::image});
  map.add({rgt * kSector, gt_sectors * kSector, 0, kTables, ExtentKind::image});
  map.add({gd * kSector, gts * 4, 0, kGd, ExtentKind::image});
  map.add({gt * kSector, gt_sectors * kSector, 0, kTables, ExtentKind::image});
  map_allocated_data(*alloc, overhead * kSector, disk_bytes, map);

  ContainerFile file;
  file.suffix = ".vmdk";
  const uint64_t size = overhead * kSector + alloc->allocated() * kGrain;
  file.allocated_bytes = size;
  file.image = make_container_image(size, std::move(map), std::move(skeleton),
                                    {in.disk, directory(rgt), directory(gt), tables});
  return file;
}

ContainerFile build_vmdk_esx_descriptor(const ContainerInput& in) {
  const uint64_t sectors = in.disk->size() / kSector;
  std::string text = descriptor(in, "vmfs", fmt::format("RW {} VMFS \"{}-flat.vmdk\"", sectors, in.name),
                                "lsilogic", 255);
  // Padded with blank lines to whole sectors, as every container file is
  // (see make_container_image).
  text.resize(align_up(text.size(), kSector), '\n');
  std::vector<uint8_t> skeleton(text.begin(), text.end());
  ExtentMap map;
  map.add({0, skeleton.size(), 0, 0, ExtentKind::skeleton});
  ContainerFile file;
  file.suffix = "-esx.vmdk";
  file.allocated_bytes = text.size();
  file.image = make_container_image(text.size(), std::move(map), std::move(skeleton), {});
  return file;
}

}  // namespace vdiskfs
