#pragma once
// The header of a VMDK hosted sparse extent, the first sector of a
// monolithicSparse .vmdk (VMware Virtual Disk Format 1.1, "Hosted Sparse
// Extent Header", struct SparseExtentHeader). Little-endian; every offset
// and size counts 512-byte sectors.
#include <cstddef>
#include <cstdint>

#include "core/image/on_disk.h"

namespace vdiskfs {

// SparseExtentHeader, field by field.
struct VmdkSparseHeader {
  le32 magic_number;              // 0x00 0x564d444b, "KDMV" on disk
  le32 version;                   // 0x04
  le32 flags;                     // 0x08 bit 0: valid newline test; bit 1: redundant grain table
  le64 capacity;                  // 0x0C sectors of the guest disk
  le64 grain_size;                // 0x14 sectors per grain
  le64 descriptor_offset;         // 0x1C sector of the embedded descriptor
  le64 descriptor_size;           // 0x24 sectors of the embedded descriptor
  le32 num_gtes_per_gt;           // 0x2C entries per grain table
  le64 rgd_offset;                // 0x30 sector of the redundant grain directory
  le64 gd_offset;                 // 0x38 sector of the grain directory
  le64 overhead;                  // 0x40 sectors before the first grain
  uint8_t unclean_shutdown;       // 0x48
  uint8_t single_end_line_char;   // 0x49 '\n'
  uint8_t non_end_line_char;      // 0x4A ' '
  uint8_t double_end_line_char1;  // 0x4B '\r'
  uint8_t double_end_line_char2;  // 0x4C '\n'
  le16 compress_algorithm;        // 0x4D 0: none
  uint8_t pad[433];               // 0x4F
};
static_assert(sizeof(VmdkSparseHeader) == 512);
static_assert(offsetof(VmdkSparseHeader, magic_number) == 0x00);
static_assert(offsetof(VmdkSparseHeader, version) == 0x04);
static_assert(offsetof(VmdkSparseHeader, flags) == 0x08);
static_assert(offsetof(VmdkSparseHeader, capacity) == 0x0C);
static_assert(offsetof(VmdkSparseHeader, grain_size) == 0x14);
static_assert(offsetof(VmdkSparseHeader, descriptor_offset) == 0x1C);
static_assert(offsetof(VmdkSparseHeader, descriptor_size) == 0x24);
static_assert(offsetof(VmdkSparseHeader, num_gtes_per_gt) == 0x2C);
static_assert(offsetof(VmdkSparseHeader, rgd_offset) == 0x30);
static_assert(offsetof(VmdkSparseHeader, gd_offset) == 0x38);
static_assert(offsetof(VmdkSparseHeader, overhead) == 0x40);
static_assert(offsetof(VmdkSparseHeader, unclean_shutdown) == 0x48);
static_assert(offsetof(VmdkSparseHeader, single_end_line_char) == 0x49);
static_assert(offsetof(VmdkSparseHeader, non_end_line_char) == 0x4A);
static_assert(offsetof(VmdkSparseHeader, double_end_line_char1) == 0x4B);
static_assert(offsetof(VmdkSparseHeader, double_end_line_char2) == 0x4C);
static_assert(offsetof(VmdkSparseHeader, compress_algorithm) == 0x4D);
static_assert(offsetof(VmdkSparseHeader, pad) == 0x4F);

// magic_number: "KDMV" read as a little-endian 32-bit number.
inline constexpr uint32_t kVmdkSparseMagic = 0x564d444b;
// flags: the newline test characters are valid.
inline constexpr uint32_t kVmdkValidNewlineTest = 1u << 0;
// flags: the redundant grain directory and tables are kept.
inline constexpr uint32_t kVmdkRedundantGrainTable = 1u << 1;

}  // namespace vdiskfs
