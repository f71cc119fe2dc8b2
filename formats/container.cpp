#include "formats/container.h"

#include "core/image/error.h"
#include "core/image/mapped_image.h"

namespace vdiskfs {

ContainerFile build_raw(const ContainerInput& in, std::string_view suffix) {
  uint64_t allocated = 0;
  for (const ByteRange& r : in.data) allocated += r.length;
  return {std::string(suffix), in.disk, allocated};
}

std::shared_ptr<const Image> make_container_image(uint64_t size, ExtentMap map,
                                                  std::vector<uint8_t> skeleton,
                                                  std::vector<std::shared_ptr<const Image>> children) {
  // QEMU 7.2 with aio=io_uring hangs on the short read at the end of a
  // file that is not whole sectors; every container file must be.
  if (size % 512) fail("internal error: container file of {} bytes is not whole 512-byte sectors", size);
  size_t bad = 0;
  if (!map.finish(&bad)) fail("internal error: container layout overlaps at extent {}", bad);
  return std::make_shared<MappedImage>(size, std::move(map), std::move(skeleton), nullptr,
                                       std::move(children));
}

void map_allocated_data(const AllocationMap& alloc, uint64_t data_offset, uint64_t disk_bytes,
                        ExtentMap& map) {
  const uint64_t unit = alloc.unit_bytes();
  for (const AllocationMap::Run& r : alloc.runs()) {
    const uint64_t guest = r.first * unit;
    const uint64_t len = std::min(r.count * unit, disk_bytes - guest);  // last unit may be short
    map.add({data_offset + r.ordinal * unit, len, guest, 0, ExtentKind::image});
  }
}

}  // namespace vdiskfs
