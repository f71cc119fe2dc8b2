#pragma once
// The kept index of a tar archive (issue 17): what the first scan of an
// archive learned, saved in a file so that the next mount of the same
// archive needs neither to decompress it nor to read its headers. It holds
// the scan's events in archive order (members with their attributes and
// data offsets, hard links, what was skipped or warned about, dumpdirs)
// and, for a compressed archive, the stream's restart points, the checksum
// of each page of output and the uncompressed size. It is used while the
// archive's size, mtime and a hash of its first and last 64 KiB match the
// key it was made for (and the options that shape the scan: xattrs).
//
// File layout: an IndexHeader, then the payload (little-endian integers,
// strings as a u32 length and bytes; see tar_index.cpp, encode_payload).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/source/archive_file.h"
#include "core/source/compressed/decompressed_archive.h"
#include "core/source/tree_assembler.h"

namespace vdiskfs {

// One thing the scan of a tar archive met, as TarSource::open handles it.
struct TarScanEvent {
  enum class Kind : uint8_t { member = 0, hard_link = 1, skipped = 2, warning = 3 };
  Kind kind = Kind::member;
  std::string path;
  std::string text;           // hard_link: the target; skipped: why; warning: what
  EntrySpec spec;             // member (payload: the data's archive offset)
  bool stored_whole = false;  // member: sparse with holes stored (SUN.holesdata)
  bool has_dumpdir = false;   // member: a --listed-incremental directory listing
  std::string dumpdir;
  uint64_t header_offset = 0;  // member: where its header starts
};

struct TarIndex {
  std::optional<StreamIndex> stream;  // none for an uncompressed archive
  std::vector<TarScanEvent> events;
};

// What an index is valid for: the raw (compressed) archive file and the
// scan options that change its events.
struct ArchiveKey {
  uint64_t size = 0;
  Timestamp mtime;
  uint64_t head_hash = 0, tail_hash = 0;  // XXH3-64 of the first and last 64 KiB (fewer for a small file)
  uint32_t flags = 0;                     // kKeyXattrs
  static constexpr uint32_t kKeyXattrs = 1;
};

// The on-disk header of an index file.
struct IndexHeader {
  char magic[8];          // 0x00 "VDKTIDX\0"
  uint32_t version;       // 0x08 kIndexVersion
  uint32_t key_flags;     // 0x0C ArchiveKey::flags
  uint64_t archive_size;  // 0x10 bytes
  int64_t mtime_sec;      // 0x18
  uint32_t mtime_nsec;    // 0x20
  uint32_t reserved;      // 0x24 zero
  uint64_t head_hash;     // 0x28
  uint64_t tail_hash;     // 0x30
  uint64_t payload_bytes;  // 0x38 bytes after this header
  uint64_t payload_hash;   // 0x40 XXH3-64 of the payload
};
static_assert(sizeof(IndexHeader) == 0x48);
static_assert(offsetof(IndexHeader, payload_hash) == 0x40);

// The key of `raw` under `options_flags`. Throws Error when the file cannot
// be read.
ArchiveKey archive_key(const ArchiveFile& raw, uint32_t options_flags);
// The index file of `raw` in folder `dir`: named after the archive's base
// name and a hash of its full path or URL.
std::string index_path(const std::string& dir, const ArchiveFile& raw);

// The index as file bytes.
std::string encode_index(const ArchiveKey& key, const TarIndex& index);
// The index in `bytes` if it is whole and made for `key`; else nullopt and
// `why` says what did not match or is corrupt.
std::optional<TarIndex> decode_index(std::string_view bytes, const ArchiveKey& key, std::string& why);
// The payload alone (what follows the header). Throws Error naming the
// byte offset where it is malformed (truncated, a count beyond the bytes
// left, an unknown event kind); never reads out of bounds.
TarIndex decode_payload(std::string_view payload);

// Reads the index file at `path` for `key`: nullopt when there is none
// (`why` empty) or it is unreadable, stale or corrupt (`why` says which).
std::optional<TarIndex> load_index(const std::string& path, const ArchiveKey& key, std::string& why);
// Writes the index atomically (a temporary file renamed over `path`),
// creating the folder. Returns "" or why it could not (the caller warns:
// a missing index only costs the next mount a scan).
std::string save_index(const std::string& path, const ArchiveKey& key, const TarIndex& index);

}  // namespace vdiskfs
