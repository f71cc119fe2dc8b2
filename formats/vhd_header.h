#pragma once
// The structures of a VHD file (Microsoft's Virtual Hard Disk Image Format
// Specification): the hard disk footer, which ends every VHD and starts a
// dynamic one, and the dynamic disk header with its parent locator entries.
// Big-endian; checksums are the one's complement of the byte sum with the
// checksum field zero.
#include <cstddef>
#include <cstdint>

#include "core/image/on_disk.h"

namespace vdiskfs {

// The CHS geometry of the footer ("Disk Geometry").
struct VhdGeometry {
  be16 cylinders;             // 0x00
  uint8_t heads;              // 0x02
  uint8_t sectors_per_track;  // 0x03
};
static_assert(sizeof(VhdGeometry) == 4);
static_assert(offsetof(VhdGeometry, cylinders) == 0x00);
static_assert(offsetof(VhdGeometry, heads) == 0x02);
static_assert(offsetof(VhdGeometry, sectors_per_track) == 0x03);

// Hard Disk Footer Format.
struct VhdFooter {
  uint8_t cookie[8];               // 0x00 "conectix"
  be32 features;                   // 0x08 bit 1 reserved, always set
  be32 file_format_version;        // 0x0C 0x00010000
  be64 data_offset;                // 0x10 file offset of the dynamic header; ~0 for a fixed disk
  be32 timestamp;                  // 0x18 seconds since 2000-01-01 00:00:00 UTC
  uint8_t creator_application[4];  // 0x1C
  be32 creator_version;            // 0x20
  uint8_t creator_host_os[4];      // 0x24
  be64 original_size;              // 0x28 bytes of the disk when created
  be64 current_size;               // 0x30 bytes of the disk
  VhdGeometry disk_geometry;       // 0x38
  be32 disk_type;                  // 0x3C 2 fixed, 3 dynamic, 4 differencing
  be32 checksum;                   // 0x40
  uint8_t unique_id[16];           // 0x44
  uint8_t saved_state;             // 0x54
  uint8_t reserved[427];           // 0x55
};
static_assert(sizeof(VhdFooter) == 512);
static_assert(offsetof(VhdFooter, cookie) == 0x00);
static_assert(offsetof(VhdFooter, features) == 0x08);
static_assert(offsetof(VhdFooter, file_format_version) == 0x0C);
static_assert(offsetof(VhdFooter, data_offset) == 0x10);
static_assert(offsetof(VhdFooter, timestamp) == 0x18);
static_assert(offsetof(VhdFooter, creator_application) == 0x1C);
static_assert(offsetof(VhdFooter, creator_version) == 0x20);
static_assert(offsetof(VhdFooter, creator_host_os) == 0x24);
static_assert(offsetof(VhdFooter, original_size) == 0x28);
static_assert(offsetof(VhdFooter, current_size) == 0x30);
static_assert(offsetof(VhdFooter, disk_geometry) == 0x38);
static_assert(offsetof(VhdFooter, disk_type) == 0x3C);
static_assert(offsetof(VhdFooter, checksum) == 0x40);
static_assert(offsetof(VhdFooter, unique_id) == 0x44);
static_assert(offsetof(VhdFooter, saved_state) == 0x54);
static_assert(offsetof(VhdFooter, reserved) == 0x55);

// A parent locator entry of the dynamic disk header: where a differencing
// disk finds its parent. vdiskfs writes no differencing disks: all zero.
struct VhdParentLocator {
  be32 platform_code;         // 0x00
  be32 platform_data_space;   // 0x04 sectors
  be32 platform_data_length;  // 0x08 bytes
  be32 reserved;              // 0x0C
  be64 platform_data_offset;  // 0x10 file offset
};
static_assert(sizeof(VhdParentLocator) == 24);
static_assert(offsetof(VhdParentLocator, platform_code) == 0x00);
static_assert(offsetof(VhdParentLocator, platform_data_space) == 0x04);
static_assert(offsetof(VhdParentLocator, platform_data_length) == 0x08);
static_assert(offsetof(VhdParentLocator, reserved) == 0x0C);
static_assert(offsetof(VhdParentLocator, platform_data_offset) == 0x10);

// Dynamic Disk Header Format.
struct VhdDynamicHeader {
  uint8_t cookie[8];                    // 0x000 "cxsparse"
  be64 data_offset;                     // 0x008 unused: ~0
  be64 table_offset;                    // 0x010 file offset of the BAT
  be32 header_version;                  // 0x018 0x00010000
  be32 max_table_entries;               // 0x01C BAT entries
  be32 block_size;                      // 0x020 bytes of a block's data (its bitmap not counted)
  be32 checksum;                        // 0x024
  uint8_t parent_unique_id[16];         // 0x028
  be32 parent_timestamp;                // 0x038
  be32 reserved1;                       // 0x03C
  be16 parent_unicode_name[256];        // 0x040 UTF-16BE
  VhdParentLocator parent_locators[8];  // 0x240
  uint8_t reserved2[256];               // 0x300
};
static_assert(sizeof(VhdDynamicHeader) == 1024);
static_assert(offsetof(VhdDynamicHeader, cookie) == 0x000);
static_assert(offsetof(VhdDynamicHeader, data_offset) == 0x008);
static_assert(offsetof(VhdDynamicHeader, table_offset) == 0x010);
static_assert(offsetof(VhdDynamicHeader, header_version) == 0x018);
static_assert(offsetof(VhdDynamicHeader, max_table_entries) == 0x01C);
static_assert(offsetof(VhdDynamicHeader, block_size) == 0x020);
static_assert(offsetof(VhdDynamicHeader, checksum) == 0x024);
static_assert(offsetof(VhdDynamicHeader, parent_unique_id) == 0x028);
static_assert(offsetof(VhdDynamicHeader, parent_timestamp) == 0x038);
static_assert(offsetof(VhdDynamicHeader, reserved1) == 0x03C);
static_assert(offsetof(VhdDynamicHeader, parent_unicode_name) == 0x040);
static_assert(offsetof(VhdDynamicHeader, parent_locators) == 0x240);
static_assert(offsetof(VhdDynamicHeader, reserved2) == 0x300);

}  // namespace vdiskfs
