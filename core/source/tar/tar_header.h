#pragma once
// The tar header block (POSIX.1-1988 ustar, POSIX.1-2001 pax, GNU tar) and
// the GNU sparse extension block, as the specifications draw them: 512
// bytes each, every field a run of characters (NUL-padded text, octal
// digits, or GNU base-256 bytes), so no byte order applies. Numbers are
// decoded by tar::parse_number, text by tar::field_string (tar_fields.h).
// Offsets in the comments are from the start of the block.
#include <cstddef>
#include <cstring>

namespace vdiskfs::tar {

// Bytes in a tar block: a header, an extension block, a unit of data.
inline constexpr size_t kBlock = 512;

// One (offset, numbytes) pair of a GNU sparse map, two numbers of 12
// characters.
struct GnuSparseEntry {
  char offset[12];    // 0x00 where a data run starts in the file
  char numbytes[12];  // 0x0C its length
};
static_assert(sizeof(GnuSparseEntry) == 24);
static_assert(offsetof(GnuSparseEntry, offset) == 0x00);
static_assert(offsetof(GnuSparseEntry, numbytes) == 0x0C);

// What POSIX ustar keeps after devminor: a path prefix.
struct UstarTail {
  char prefix[155];  // 0x159 the path's leading directories ("prefix/name")
  char pad[12];      // 0x1F4
};
static_assert(sizeof(UstarTail) == 167);

// What the old GNU format keeps there instead (GNU tar's tar.h,
// struct oldgnu_header): times for --incremental, the multi-volume offset,
// and the first four entries of a sparse member's map.
struct GnuTail {
  char atime[12];              // 0x159
  char ctime[12];              // 0x165
  char offset[12];             // 0x171 multi-volume: where this part starts
  char longnames[4];           // 0x17D unused
  char unused;                 // 0x181
  GnuSparseEntry sparse[4];    // 0x182 type 'S': the sparse map's start
  char isextended;             // 0x1E2 type 'S': extension blocks follow
  char realsize[12];           // 0x1E3 type 'S': the file's size, holes included
  char pad[17];                // 0x1EF
};
static_assert(sizeof(GnuTail) == 167);

struct Header {
  char name[100];      // 0x000 path (the last part of it with a ustar prefix)
  char mode[8];        // 0x064 permission bits, octal
  char uid[8];         // 0x06C
  char gid[8];         // 0x074
  char size[12];       // 0x07C bytes of data that follow
  char mtime[12];      // 0x088 seconds since the epoch
  char chksum[8];      // 0x094 sum of the header's bytes, this field as spaces
  char typeflag;       // 0x09C '0' file, '1' hard link, '2' symlink, 'x' pax, ...
  char linkname[100];  // 0x09D hard-link or symlink target
  char magic[6];       // 0x101 "ustar\0" (POSIX) or "ustar " (GNU)
  char version[2];     // 0x107 "00" (POSIX) or " \0" (GNU)
  char uname[32];      // 0x109
  char gname[32];      // 0x129
  char devmajor[8];    // 0x149
  char devminor[8];    // 0x151
  union {              // 0x159 by the magic:
    UstarTail ustar;   //       POSIX ustar
    GnuTail gnu;       //       old GNU
  };
};
static_assert(sizeof(Header) == kBlock);
static_assert(offsetof(Header, name) == 0x000);
static_assert(offsetof(Header, mode) == 0x064);
static_assert(offsetof(Header, uid) == 0x06C);
static_assert(offsetof(Header, gid) == 0x074);
static_assert(offsetof(Header, size) == 0x07C);
static_assert(offsetof(Header, mtime) == 0x088);
static_assert(offsetof(Header, chksum) == 0x094);
static_assert(offsetof(Header, typeflag) == 0x09C);
static_assert(offsetof(Header, linkname) == 0x09D);
static_assert(offsetof(Header, magic) == 0x101);
static_assert(offsetof(Header, version) == 0x107);
static_assert(offsetof(Header, uname) == 0x109);
static_assert(offsetof(Header, gname) == 0x129);
static_assert(offsetof(Header, devmajor) == 0x149);
static_assert(offsetof(Header, devminor) == 0x151);
static_assert(offsetof(Header, ustar.prefix) == 0x159);
static_assert(offsetof(Header, ustar.pad) == 0x1F4);
static_assert(offsetof(Header, gnu.atime) == 0x159);
static_assert(offsetof(Header, gnu.ctime) == 0x165);
static_assert(offsetof(Header, gnu.offset) == 0x171);
static_assert(offsetof(Header, gnu.longnames) == 0x17D);
static_assert(offsetof(Header, gnu.unused) == 0x181);
static_assert(offsetof(Header, gnu.sparse) == 0x182);
static_assert(offsetof(Header, gnu.isextended) == 0x1E2);
static_assert(offsetof(Header, gnu.realsize) == 0x1E3);
static_assert(offsetof(Header, gnu.pad) == 0x1EF);

// A GNU sparse extension block: more of the sparse map, after the header
// of a type 'S' member whose isextended is set (GNU tar's tar.h, struct
// sparse_header).
struct GnuSparseBlock {
  GnuSparseEntry sparse[21];  // 0x000
  char isextended;            // 0x1F8 another block follows
  char pad[7];                // 0x1F9
};
static_assert(sizeof(GnuSparseBlock) == kBlock);
static_assert(offsetof(GnuSparseBlock, sparse) == 0x000);
static_assert(offsetof(GnuSparseBlock, isextended) == 0x1F8);
static_assert(offsetof(GnuSparseBlock, pad) == 0x1F9);

// The magic's first five characters in both POSIX ustar and old GNU headers.
inline constexpr char kUstar[] = "ustar";

// POSIX ustar: magic "ustar\0" (the version is not checked, as neither GNU
// tar nor libarchive insist on "00"); the tail is UstarTail.
inline bool has_posix_magic(const Header& h) { return std::memcmp(h.magic, kUstar, sizeof h.magic) == 0; }

// Old GNU: magic "ustar " and version " \0"; the tail is GnuTail.
inline bool has_gnu_magic(const Header& h) {
  return std::memcmp(h.magic, "ustar ", sizeof h.magic) == 0 && std::memcmp(h.version, " ", sizeof h.version) == 0;
}

// Either of them: a magic that starts with "ustar".
inline bool has_ustar_magic(const Header& h) { return std::memcmp(h.magic, kUstar, sizeof kUstar - 1) == 0; }

}  // namespace vdiskfs::tar
