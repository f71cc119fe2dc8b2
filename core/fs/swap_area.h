#pragma once
// A Linux swap area: page 0 holds the version 1 swap header that mkswap
// writes (linux include/linux/swap.h, union swap_header), every other byte
// reads as zeros and costs nothing until the guest writes it. The kernel's
// swapon, blkid and swaplabel read the header; nothing else is needed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/fs/filesystem.h"
#include "core/image/identity.h"
#include "core/image/on_disk.h"

namespace vdiskfs {

inline constexpr uint64_t kSwapPageBytes = 4096;  // x86-64 page size the header is laid out for
inline constexpr uint64_t kSwapMinPages = 10;     // mkswap's least (MIN_GOODPAGES); the kernel's is smaller
inline constexpr uint64_t kSwapMaxPages = 1ull << 32;  // last_page is 32 bits
// sws_volume: blkid and swaplabel read all 16 bytes (mkswap and swaplabel
// write at most 15 and a NUL, but a label of 16 is read whole).
inline constexpr size_t kSwapMaxLabelBytes = 16;
inline constexpr uint32_t kSwapVersion = 1;        // the only version Linux has taken since 2.5
inline constexpr char kSwapMagic[] = "SWAPSPACE2";  // ends the page (10 bytes, no NUL on disk)

// Page 0 of a swap area, whole: the union swap_header's `info` view, in
// host byte order for the kernel (little-endian on x86-64), with the
// `magic` view's last 10 bytes of the page. mkswap leaves bootbits alone
// (a disklabel may live there); a fresh area has them zero.
struct SwapHeader {
  uint8_t bootbits[1024];  // 0x000 space for a disklabel or boot loader
  le32 version;            // 0x400 1
  le32 last_page;          // 0x404 the area's last usable page: pages - 1
  le32 nr_badpages;        // 0x408 entries of badpages in use
  uint8_t sws_uuid[16];    // 0x40C the UUID, big-endian RFC 4122 bytes as blkid prints them
  uint8_t sws_volume[16];  // 0x41C the label, NUL-padded (no NUL when 16 bytes long)
  le32 padding[117];       // 0x42C zero
  le32 badpages[637];      // 0x600 bad page numbers (MAX_SWAP_BADPAGES = 637)
  uint8_t unused[2];       // 0xFF4 what is left between the last badpages entry and the magic
  uint8_t magic[10];       // 0xFF6 "SWAPSPACE2"
};
static_assert(sizeof(SwapHeader) == kSwapPageBytes);
static_assert(offsetof(SwapHeader, bootbits) == 0x000);
static_assert(offsetof(SwapHeader, version) == 0x400);
static_assert(offsetof(SwapHeader, last_page) == 0x404);
static_assert(offsetof(SwapHeader, nr_badpages) == 0x408);
static_assert(offsetof(SwapHeader, sws_uuid) == 0x40C);
static_assert(offsetof(SwapHeader, sws_volume) == 0x41C);
static_assert(offsetof(SwapHeader, padding) == 0x42C);
static_assert(offsetof(SwapHeader, badpages) == 0x600);
static_assert(offsetof(SwapHeader, unused) == 0xFF4);
static_assert(offsetof(SwapHeader, magic) == 0xFF6);
static_assert(sizeof(kSwapMagic) - 1 == sizeof(SwapHeader::magic));

// What shapes a swap area.
struct SwapOptions {
  uint64_t bytes = 1ull << 30;  // the area's size, bytes: a multiple of the page size, at least 10 pages
  Uuid uuid{};                  // big-endian RFC 4122 bytes, as blkid/swaplabel print it
  std::string label;            // up to 16 bytes (refused longer, Error naming the label)
};

// Builds a swap area of options.bytes: the header page (version 1,
// last_page = pages - 1, no bad pages, the UUID and label) and zeros; only
// the header page is data (data_ranges). Volume: type "swap", block_size
// 4096, blocks = pages, no free blocks or inodes, facts swap_bytes and
// swap_pages. Throws Error for a size that is not a multiple of 4096
// bytes, under 10 pages or over 2^32 pages, and for a label over 16 bytes.
Volume build_swap(const SwapOptions& options);

// The canonical text of the options for the disk's identity:
// "swap;bytes=N;uuid=<uuid_to_string>;label=...". Throws Error for the
// options build_swap refuses.
std::string swap_layout(const SwapOptions& options);

}  // namespace vdiskfs
