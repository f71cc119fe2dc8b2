#pragma once
// Container formats present a guest disk as a file: VMDK, VHD, VDI, qcow2.
// Each builder generates its headers and tables and maps data ranges to the
// guest disk; only units that hold data are allocated in sparse formats.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "formats/allocation_map.h"
#include "core/image/extent_map.h"
#include "core/image/identity.h"
#include "core/image/image.h"

namespace vdiskfs {

// What every format needs to know about the guest disk.
struct ContainerInput {
  std::shared_ptr<const Image> disk;
  std::vector<ByteRange> data;  // disk.data_ranges(), computed once
  Identity identity;            // ids and UUIDs derive from it
  std::string name;             // base name of the exposed files
  int64_t timestamp_ns = 0;
};

// One exposed file: "<name><suffix>".
struct ContainerFile {
  std::string suffix;  // ".vmdk", "-flat.vmdk", ...
  std::shared_ptr<const Image> image;
  uint64_t allocated_bytes = 0;
};

// The guest disk itself as the raw file "<in.name><suffix>"; its allocated
// bytes are those of the data ranges.
ContainerFile build_raw(const ContainerInput& in, std::string_view suffix);

// Builds the MappedImage of a container: `skeleton` bytes for headers,
// `children` (index 0: the guest disk) for tables and data.
std::shared_ptr<const Image> make_container_image(uint64_t size, ExtentMap map,
                                                  std::vector<uint8_t> skeleton,
                                                  std::vector<std::shared_ptr<const Image>> children);

// Maps allocated units of `alloc` to the data area at `data_offset`: one
// extent per run, reading child 0 (the guest disk).
void map_allocated_data(const AllocationMap& alloc, uint64_t data_offset, uint64_t disk_bytes,
                        ExtentMap& map);

}  // namespace vdiskfs
