#pragma once
// The header of a qcow2 file (QEMU's docs/interop/qcow2.txt, "Header"),
// version 3 with the 104-byte header vdiskfs writes, and the header
// extensions that may follow it. Big-endian.
#include <cstddef>
#include <cstdint>

#include "core/image/on_disk.h"

namespace vdiskfs {

// The qcow2 header: fields of versions 2 and 3 (0x00-0x47), then those of
// version 3 (0x48-0x67).
struct Qcow2Header {
  be32 magic;                    // 0x00 "QFI\xfb"
  be32 version;                  // 0x04 2 or 3
  be64 backing_file_offset;      // 0x08 0: no backing file
  be32 backing_file_size;        // 0x10
  be32 cluster_bits;             // 0x14 log2 of the cluster size
  be64 size;                     // 0x18 bytes of the guest disk
  be32 crypt_method;             // 0x20 0: none
  be32 l1_size;                  // 0x24 L1 entries
  be64 l1_table_offset;          // 0x28 file offset of the L1 table
  be64 refcount_table_offset;    // 0x30 file offset of the refcount table
  be32 refcount_table_clusters;  // 0x38
  be32 nb_snapshots;             // 0x3C
  be64 snapshots_offset;         // 0x40
  be64 incompatible_features;    // 0x48 version 3 from here on
  be64 compatible_features;      // 0x50
  be64 autoclear_features;       // 0x58
  be32 refcount_order;           // 0x60 log2 of the refcount width in bits
  be32 header_length;            // 0x64 sizeof(Qcow2Header)
};
static_assert(sizeof(Qcow2Header) == 104);
static_assert(offsetof(Qcow2Header, magic) == 0x00);
static_assert(offsetof(Qcow2Header, version) == 0x04);
static_assert(offsetof(Qcow2Header, backing_file_offset) == 0x08);
static_assert(offsetof(Qcow2Header, backing_file_size) == 0x10);
static_assert(offsetof(Qcow2Header, cluster_bits) == 0x14);
static_assert(offsetof(Qcow2Header, size) == 0x18);
static_assert(offsetof(Qcow2Header, crypt_method) == 0x20);
static_assert(offsetof(Qcow2Header, l1_size) == 0x24);
static_assert(offsetof(Qcow2Header, l1_table_offset) == 0x28);
static_assert(offsetof(Qcow2Header, refcount_table_offset) == 0x30);
static_assert(offsetof(Qcow2Header, refcount_table_clusters) == 0x38);
static_assert(offsetof(Qcow2Header, nb_snapshots) == 0x3C);
static_assert(offsetof(Qcow2Header, snapshots_offset) == 0x40);
static_assert(offsetof(Qcow2Header, incompatible_features) == 0x48);
static_assert(offsetof(Qcow2Header, compatible_features) == 0x50);
static_assert(offsetof(Qcow2Header, autoclear_features) == 0x58);
static_assert(offsetof(Qcow2Header, refcount_order) == 0x60);
static_assert(offsetof(Qcow2Header, header_length) == 0x64);

// A header extension ("Header extensions"): right after the header, each
// padded to 8 bytes; a type of 0 ends them. vdiskfs writes only the end.
struct Qcow2HeaderExtension {
  be32 type;    // 0x00 0: end of the header extension area
  be32 length;  // 0x04 bytes of data after this, before the padding
};
static_assert(sizeof(Qcow2HeaderExtension) == 8);
static_assert(offsetof(Qcow2HeaderExtension, type) == 0x00);
static_assert(offsetof(Qcow2HeaderExtension, length) == 0x04);

// Qcow2Header::magic.
inline constexpr uint32_t kQcow2Magic = 0x514649fb;
// Qcow2HeaderExtension::type of the end marker.
inline constexpr uint32_t kQcow2ExtensionEnd = 0;

}  // namespace vdiskfs
