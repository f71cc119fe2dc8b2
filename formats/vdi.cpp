#include "formats/vdi.h"

#include <cstring>

#include "core/image/arith.h"
#include "core/image/endian.h"
#include "core/image/error.h"
#include "formats/table_image.h"

namespace vdiskfs {
namespace {

constexpr uint64_t kBlock = 1ull << 20;
constexpr uint32_t kSignature = 0xbeda107f;
constexpr uint32_t kVersion = 0x00010001;
constexpr uint32_t kBlockZero = 0xfffffffe;
constexpr uint64_t kMapOffset = 512;

// VDIPREHEADER + VDIHEADER1 field offsets.
namespace hdr {
constexpr size_t file_info = 0, signature = 64, version = 68, header_size = 72, type = 76, flags = 80,
                 comment = 84, blocks_offset = 340, data_offset = 344, legacy_geometry = 348,
                 disk_size = 368, block_size = 376, block_extra = 380, blocks = 384,
                 blocks_allocated = 388, uuid_create = 392, uuid_modify = 408, uuid_linkage = 424,
                 uuid_parent = 440, lchs_geometry = 456, kEnd = 472;
}  // namespace hdr

}  // namespace

ContainerFile build_vdi(const ContainerInput& in) {
  const uint64_t disk_bytes = in.disk->size();
  auto alloc = std::make_shared<AllocationMap>(in.data, kBlock, disk_bytes);
  const uint64_t blocks = alloc->total_units();
  if (blocks > 0xfffffff0ull) fail("disk too large for VDI");
  const uint64_t data_offset = align_up(kMapOffset + blocks * 4, kBlock);

  std::vector<uint8_t> skeleton(kMapOffset, 0);
  uint8_t* h = skeleton.data();
  const char* info = "<<< Oracle VM VirtualBox Disk Image >>>\n";
  std::memcpy(h + hdr::file_info, info, std::strlen(info));
  put_le32(h + hdr::signature, kSignature);
  put_le32(h + hdr::version, kVersion);
  put_le32(h + hdr::header_size, hdr::kEnd - hdr::header_size);
  put_le32(h + hdr::type, 1);  // normal (dynamically allocated)
  put_le32(h + hdr::flags, 0);
  const char* comment = "vdiskfs: synthesized from a file tree";
  std::memcpy(h + hdr::comment, comment, std::strlen(comment));
  put_le32(h + hdr::blocks_offset, uint32_t(kMapOffset));
  put_le32(h + hdr::data_offset, uint32_t(data_offset));
  put_le32(h + hdr::legacy_geometry + 12, 512);  // sector size; CHS left to the reader
  put_le64(h + hdr::disk_size, disk_bytes);
  put_le32(h + hdr::block_size, uint32_t(kBlock));
  put_le32(h + hdr::block_extra, 0);
  put_le32(h + hdr::blocks, uint32_t(blocks));
  put_le32(h + hdr::blocks_allocated, uint32_t(alloc->allocated()));
  const Uuid create = in.identity.derive("vdi-create"), modify = in.identity.derive("vdi-modify");
  std::memcpy(h + hdr::uuid_create, create.data(), 16);
  std::memcpy(h + hdr::uuid_modify, modify.data(), 16);
  put_le32(h + hdr::lchs_geometry + 12, 512);

  auto block_map = std::make_shared<TableImage>(blocks, 4, [alloc](uint64_t first, uint64_t count, uint8_t* out) {
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t slot = alloc->ordinal(first + i);
      put_le32(out + 4 * i, slot == AllocationMap::kNone ? kBlockZero : uint32_t(slot));
    }
  });

  enum Child : uint32_t { kDisk, kMap };
  ExtentMap map;
  map.add({0, skeleton.size(), 0, 0, ExtentKind::skeleton});
  map.add({kMapOffset, blocks * 4, 0, kMap, ExtentKind::image});
  map_allocated_data(*alloc, data_offset, disk_bytes, map);

  ContainerFile file;
  file.suffix = ".vdi";
  const uint64_t size = data_offset + alloc->allocated() * kBlock;
  file.allocated_bytes = size;
  file.image = make_container_image(size, std::move(map), std::move(skeleton), {in.disk, block_map});
  return file;
}

}  // namespace vdiskfs
