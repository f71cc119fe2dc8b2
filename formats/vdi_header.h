#pragma once
// The header of a VDI file as VirtualBox writes it (VBox/vd-vdi.h): the
// pre-header (text and signature, VDIPREHEADER) and the header of version
// 1.1 (VDIHEADER1PLUS) right after it. Little-endian.
#include <cstddef>
#include <cstdint>

#include "core/image/on_disk.h"

namespace vdiskfs {

// VDIPREHEADER: what every VDI version starts with.
struct VdiPreHeader {
  uint8_t file_info[64];  // 0x00 text, "<<< Oracle VM VirtualBox Disk Image >>>\n"
  le32 signature;         // 0x40 0xbeda107f
  le32 version;           // 0x44 0x00010001: 1.1
};
static_assert(sizeof(VdiPreHeader) == 72);
static_assert(offsetof(VdiPreHeader, file_info) == 0x00);
static_assert(offsetof(VdiPreHeader, signature) == 0x40);
static_assert(offsetof(VdiPreHeader, version) == 0x44);

// VDIDISKGEOMETRY: a CHS geometry and the sector size.
struct VdiGeometry {
  le32 cylinders;     // 0x00
  le32 heads;         // 0x04
  le32 sectors;       // 0x08 per track
  le32 sector_bytes;  // 0x0C
};
static_assert(sizeof(VdiGeometry) == 16);
static_assert(offsetof(VdiGeometry, cylinders) == 0x00);
static_assert(offsetof(VdiGeometry, heads) == 0x04);
static_assert(offsetof(VdiGeometry, sectors) == 0x08);
static_assert(offsetof(VdiGeometry, sector_bytes) == 0x0C);

// VDIHEADER1PLUS, at file offset 0x48 (file offsets in parentheses).
struct VdiHeader1Plus {
  le32 header_size;                  // 0x000 (0x048) sizeof(VdiHeader1Plus)
  le32 image_type;                   // 0x004 (0x04C) 1: normal (dynamically allocated)
  le32 image_flags;                  // 0x008 (0x050)
  uint8_t comment[256];              // 0x00C (0x054) text
  le32 blocks_offset;                // 0x10C (0x154) file offset of the block map
  le32 data_offset;                  // 0x110 (0x158) file offset of the first block
  VdiGeometry legacy_geometry;       // 0x114 (0x15C)
  le32 dummy;                        // 0x124 (0x16C) was the BIOS translation
  le64 disk_size;                    // 0x128 (0x170) bytes
  le32 block_size;                   // 0x130 (0x178) bytes of a block's data
  le32 block_extra;                  // 0x134 (0x17C) bytes of data before each block
  le32 blocks;                       // 0x138 (0x180) blocks of the disk
  le32 blocks_allocated;             // 0x13C (0x184)
  uint8_t uuid_create[16];           // 0x140 (0x188)
  uint8_t uuid_modify[16];           // 0x150 (0x198)
  uint8_t uuid_linkage[16];          // 0x160 (0x1A8) the parent's uuid_create
  uint8_t uuid_parent_modify[16];    // 0x170 (0x1B8)
  VdiGeometry lchs_geometry;         // 0x180 (0x1C8)
};
static_assert(sizeof(VdiHeader1Plus) == 0x190);
static_assert(offsetof(VdiHeader1Plus, header_size) == 0x000);
static_assert(offsetof(VdiHeader1Plus, image_type) == 0x004);
static_assert(offsetof(VdiHeader1Plus, image_flags) == 0x008);
static_assert(offsetof(VdiHeader1Plus, comment) == 0x00C);
static_assert(offsetof(VdiHeader1Plus, blocks_offset) == 0x10C);
static_assert(offsetof(VdiHeader1Plus, data_offset) == 0x110);
static_assert(offsetof(VdiHeader1Plus, legacy_geometry) == 0x114);
static_assert(offsetof(VdiHeader1Plus, dummy) == 0x124);
static_assert(offsetof(VdiHeader1Plus, disk_size) == 0x128);
static_assert(offsetof(VdiHeader1Plus, block_size) == 0x130);
static_assert(offsetof(VdiHeader1Plus, block_extra) == 0x134);
static_assert(offsetof(VdiHeader1Plus, blocks) == 0x138);
static_assert(offsetof(VdiHeader1Plus, blocks_allocated) == 0x13C);
static_assert(offsetof(VdiHeader1Plus, uuid_create) == 0x140);
static_assert(offsetof(VdiHeader1Plus, uuid_modify) == 0x150);
static_assert(offsetof(VdiHeader1Plus, uuid_linkage) == 0x160);
static_assert(offsetof(VdiHeader1Plus, uuid_parent_modify) == 0x170);
static_assert(offsetof(VdiHeader1Plus, lchs_geometry) == 0x180);

// The start of a VDI file: pre-header, then header.
struct VdiFileHeader {
  VdiPreHeader pre;       // 0x000
  VdiHeader1Plus header;  // 0x048
};
static_assert(sizeof(VdiFileHeader) == 0x1D8);
static_assert(offsetof(VdiFileHeader, pre) == 0x000);
static_assert(offsetof(VdiFileHeader, header) == 0x048);

// VdiPreHeader::signature.
inline constexpr uint32_t kVdiSignature = 0xbeda107f;
// VdiPreHeader::version: 1.1.
inline constexpr uint32_t kVdiVersion = 0x00010001;
// VdiHeader1Plus::image_type of a dynamically allocated image.
inline constexpr uint32_t kVdiTypeNormal = 1;
// A block map entry of a block read as zeros (no data in the file).
inline constexpr uint32_t kVdiBlockZero = 0xfffffffe;

}  // namespace vdiskfs
