#include "formats/vdi.h"

#include <algorithm>
#include <cstring>

#include "core/image/arith.h"
#include "core/image/endian.h"
#include "core/image/error.h"
#include "formats/table_image.h"
#include "formats/vdi_header.h"

namespace vdiskfs {
namespace {

constexpr uint64_t kMapOffset = 512;  // the block map, in the sector after the header
static_assert(sizeof(VdiFileHeader) <= kMapOffset);
constexpr uint64_t kMapEntryBytes = 4;  // a block map entry: a 32-bit block number
constexpr uint32_t kSectorBytes = 512;

// Copies the text `s` (without its NUL) into a field.
template <size_t N>
void put_text(uint8_t (&field)[N], const char* s) {
  std::memcpy(field, s, std::min(N, std::strlen(s)));
}

// The pre-header and header of a VDI of `blocks` blocks, `allocated` of
// them in the file, the first at `data_offset`.
VdiFileHeader file_header(const ContainerInput& in, uint64_t blocks, uint64_t allocated, uint64_t data_offset) {
  VdiFileHeader f{};
  put_text(f.pre.file_info, "<<< Oracle VM VirtualBox Disk Image >>>\n");
  f.pre.signature = kVdiSignature;
  f.pre.version = kVdiVersion;
  VdiHeader1Plus& h = f.header;
  h.header_size = sizeof(VdiHeader1Plus);
  h.image_type = kVdiTypeNormal;
  h.image_flags = 0;
  put_text(h.comment, "vdiskfs: synthesized from a file tree");
  h.blocks_offset = uint32_t(kMapOffset);
  h.data_offset = uint32_t(data_offset);
  h.legacy_geometry.sector_bytes = kSectorBytes;  // CHS left to the reader
  h.disk_size = in.disk->size();
  h.block_size = uint32_t(kVdiBlockBytes);
  h.block_extra = 0;
  h.blocks = uint32_t(blocks);
  h.blocks_allocated = uint32_t(allocated);
  const Uuid create = in.identity.derive("vdi-create"), modify = in.identity.derive("vdi-modify");
  std::memcpy(h.uuid_create, create.data(), sizeof(h.uuid_create));
  std::memcpy(h.uuid_modify, modify.data(), sizeof(h.uuid_modify));
  h.lchs_geometry.sector_bytes = kSectorBytes;
  return f;
}

}  // namespace

ContainerFile build_vdi(const ContainerInput& in, std::string_view suffix) {
  const uint64_t disk_bytes = in.disk->size();
  if (disk_bytes > kVdiMaxBytes) fail("disk too large for VDI");
  auto alloc = std::make_shared<AllocationMap>(in.data, kVdiBlockBytes, disk_bytes);
  const uint64_t blocks = alloc->total_units();
  const uint64_t data_offset = align_up(kMapOffset + blocks * kMapEntryBytes, kVdiBlockBytes);

  std::vector<uint8_t> skeleton(kMapOffset, 0);
  store(skeleton.data(), file_header(in, blocks, alloc->allocated(), data_offset));

  auto block_map = std::make_shared<TableImage>(blocks, kMapEntryBytes, [alloc](uint64_t first, uint64_t count, uint8_t* out) {
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t slot = alloc->ordinal(first + i);
      put_le32(out + kMapEntryBytes * i, slot == AllocationMap::kNone ? kVdiBlockZero : uint32_t(slot));
    }
  });

  enum Child : uint32_t { kDisk, kMap };
  ExtentMap map;
  map.add({0, skeleton.size(), 0, 0, ExtentKind::skeleton});
  map.add({kMapOffset, blocks * kMapEntryBytes, 0, kMap, ExtentKind::image});
  map_allocated_data(*alloc, data_offset, disk_bytes, map);

  ContainerFile file;
  file.suffix = suffix;
  const uint64_t size = data_offset + alloc->allocated() * kVdiBlockBytes;
  file.allocated_bytes = size;
  file.image = make_container_image(size, std::move(map), std::move(skeleton), {in.disk, block_map});
  return file;
}

}  // namespace vdiskfs
