#include "formats/vmdk.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

#include "core/image/arith.h"
#include "core/image/endian.h"
#include "core/image/error.h"
#include "formats/table_image.h"
#include "formats/vmdk_header.h"

namespace vdiskfs {
namespace {

constexpr uint64_t kSector = 512;
constexpr uint64_t kGrainSectors = kVmdkGrainBytes / kSector;
constexpr uint64_t kGtEntries = 512;  // numGTEsPerGT
constexpr uint64_t kGteBytes = 4;     // a grain table or directory entry: a 32-bit sector number
constexpr uint64_t kDescriptorOffset = 1;  // sector of the embedded descriptor, after the header
constexpr uint64_t kDescriptorSectors = 20;
static_assert(kDescriptorOffset * kSector == sizeof(VmdkSparseHeader));

// Where the structures of a monolithicSparse file start, in sectors:
// header | descriptor | RGD | RGTs | GD | GTs | (pad) | grains.
struct SparseLayout {
  uint64_t capacity;    // sectors of the disk
  uint64_t gts;         // grain tables (and grain directory entries)
  uint64_t gd_sectors;  // of a grain directory
  uint64_t gt_sectors;  // of all grain tables
  uint64_t rgd, rgt, gd, gt;
  uint64_t overhead;      // the first grain: whole grains after the tables
  uint64_t file_sectors;  // the whole file
};

SparseLayout sparse_layout(const AllocationMap& alloc, uint64_t disk_bytes) {
  SparseLayout L;
  L.capacity = div_up(disk_bytes, kSector);
  L.gts = div_up(alloc.total_units(), kGtEntries);
  L.gd_sectors = div_up(L.gts * kGteBytes, kSector);
  L.gt_sectors = L.gts * kGtEntries * kGteBytes / kSector;
  L.rgd = kDescriptorOffset + kDescriptorSectors;
  L.rgt = L.rgd + L.gd_sectors;
  L.gd = L.rgt + L.gt_sectors;
  L.gt = L.gd + L.gd_sectors;
  L.overhead = div_up(L.gt + L.gt_sectors, kGrainSectors) * kGrainSectors;
  L.file_sectors = L.overhead + alloc.allocated() * kGrainSectors;
  return L;
}

// Grain and table offsets are 32-bit sector numbers.
bool fits(const SparseLayout& L) { return L.file_sectors <= 0xffffffffull; }

// The sparse extent header of a file laid out as `L`.
VmdkSparseHeader sparse_header(const SparseLayout& L) {
  VmdkSparseHeader h{};
  h.magic_number = kVmdkSparseMagic;
  h.version = 1;
  h.flags = kVmdkValidNewlineTest | kVmdkRedundantGrainTable;
  h.capacity = L.capacity;
  h.grain_size = kGrainSectors;
  h.descriptor_offset = kDescriptorOffset;
  h.descriptor_size = kDescriptorSectors;
  h.num_gtes_per_gt = kGtEntries;
  h.rgd_offset = L.rgd;
  h.gd_offset = L.gd;
  h.overhead = L.overhead;
  h.unclean_shutdown = 0;
  h.single_end_line_char = '\n';
  h.non_end_line_char = ' ';
  h.double_end_line_char1 = '\r';
  h.double_end_line_char2 = '\n';
  h.compress_algorithm = 0;
  return h;
}

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

bool vmdk_sparse_fits(const ContainerInput& in) {
  const AllocationMap alloc(in.data, kVmdkGrainBytes, in.disk->size());
  return fits(sparse_layout(alloc, in.disk->size()));
}

ContainerFile build_vmdk_sparse(const ContainerInput& in, std::string_view suffix) {
  const uint64_t disk_bytes = in.disk->size();
  auto alloc = std::make_shared<AllocationMap>(in.data, kVmdkGrainBytes, disk_bytes);
  const SparseLayout L = sparse_layout(*alloc, disk_bytes);
  if (!fits(L)) fail("disk too large for a monolithicSparse VMDK (grain offsets exceed 32 bits)");
  const uint64_t gts = L.gts, overhead = L.overhead;

  std::vector<uint8_t> skeleton((kDescriptorOffset + kDescriptorSectors) * kSector, 0);
  store(skeleton.data(), sparse_header(L));
  const std::string text = descriptor(in, "monolithicSparse",
                                      fmt::format("RW {} SPARSE \"{}{}\"", L.capacity, in.name, suffix), "ide", 16);
  if (text.size() > kDescriptorSectors * kSector) fail("VMDK descriptor too long for {}", in.name);
  // The rest of the descriptor's sectors stays zero: room to rewrite it.
  std::memcpy(skeleton.data() + kDescriptorOffset * kSector, text.data(), text.size());

  auto directory = [gts](uint64_t tables_start) {
    return std::make_shared<TableImage>(gts, kGteBytes, [tables_start](uint64_t first, uint64_t count, uint8_t* out) {
      for (uint64_t i = 0; i < count; ++i)
        put_le32(out + kGteBytes * i, uint32_t(tables_start + (first + i) * (kGtEntries * kGteBytes / kSector)));
    });
  };
  auto tables = std::make_shared<TableImage>(
      gts * kGtEntries, kGteBytes, [alloc, overhead](uint64_t first, uint64_t count, uint8_t* out) {
        for (uint64_t i = 0; i < count; ++i) {
          const uint64_t grain = first + i;
          const uint64_t slot = grain < alloc->total_units() ? alloc->ordinal(grain) : AllocationMap::kNone;
          put_le32(out + kGteBytes * i, slot == AllocationMap::kNone ? 0 : uint32_t(overhead + slot * kGrainSectors));
        }
      });
  enum Child : uint32_t { kDisk, kRgd, kGd, kTables };
  ExtentMap map;
  map.add({0, skeleton.size(), 0, 0, ExtentKind::skeleton});
  map.add({L.rgd * kSector, gts * kGteBytes, 0, kRgd, ExtentKind::image});
  map.add({L.rgt * kSector, L.gt_sectors * kSector, 0, kTables, ExtentKind::image});
  map.add({L.gd * kSector, gts * kGteBytes, 0, kGd, ExtentKind::image});
  map.add({L.gt * kSector, L.gt_sectors * kSector, 0, kTables, ExtentKind::image});
  map_allocated_data(*alloc, overhead * kSector, disk_bytes, map);

  ContainerFile file;
  file.suffix = suffix;
  const uint64_t size = L.file_sectors * kSector;
  file.allocated_bytes = size;
  file.image = make_container_image(size, std::move(map), std::move(skeleton),
                                    {in.disk, directory(L.rgt), directory(L.gt), tables});
  return file;
}

ContainerFile build_vmdk_esx_descriptor(const ContainerInput& in, std::string_view suffix,
                                        std::string_view flat_suffix) {
  const uint64_t sectors = in.disk->size() / kSector;
  std::string text = descriptor(in, "vmfs", fmt::format("RW {} VMFS \"{}{}\"", sectors, in.name, flat_suffix),
                                "lsilogic", 255);
  // Padded with blank lines to whole sectors, as every container file is
  // (see make_container_image).
  text.resize(align_up(text.size(), kSector), '\n');
  std::vector<uint8_t> skeleton(text.begin(), text.end());
  ExtentMap map;
  map.add({0, skeleton.size(), 0, 0, ExtentKind::skeleton});
  ContainerFile file;
  file.suffix = suffix;
  file.allocated_bytes = text.size();
  file.image = make_container_image(text.size(), std::move(map), std::move(skeleton), {});
  return file;
}

}  // namespace vdiskfs
