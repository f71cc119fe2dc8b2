#pragma once
// The disk tier of the block cache (issue #16, --cache-dir): blocks evicted
// from memory are kept in a local folder, one file per block, so that a
// later read (in this mount or a later one of the same share) is served
// without the network. Bounded by a byte limit, least recently used files
// go first; their order survives a restart through the files' mtimes.
//
// The folder: a marker file VDISKFS-CACHE (also the lock one process holds
// while it uses the folder), and 256 subfolders 00..ff, in which block
// `index` of the file with key K is the file "<K as 16 hex>-<index as 16
// hex>" (the subfolder from a hash of both). A block file is written to a
// temporary name ending ".tmp" and renamed into place, and checked against
// its header and checksum on every read, so a file torn by a crash (or
// changed by anything) is never served: it is removed and the block
// fetched again. Nothing is fsync'ed: the checksum makes that needless.
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/image/on_disk.h"
#include "core/source/block_cache_policy.h"

namespace vdiskfs {

// The header at the start of a block file; the block's bytes follow it.
struct DiskBlockHeader {
  uint8_t magic[8];  // 0x00 "VDFSBLK1"
  le64 file_key;     // 0x08 the file's key (BlockId::file_key)
  le64 index;        // 0x10 the block's index in the file
  le32 length;       // 0x18 bytes of the block that follow the header
  le32 block_bytes;  // 0x1C the cache's block size when it was written
  le64 checksum;     // 0x20 XXH3-64 of bytes 0x00..0x1F, then of the block's bytes
};
static_assert(sizeof(DiskBlockHeader) == 0x28);
static_assert(offsetof(DiskBlockHeader, magic) == 0x00);
static_assert(offsetof(DiskBlockHeader, file_key) == 0x08);
static_assert(offsetof(DiskBlockHeader, index) == 0x10);
static_assert(offsetof(DiskBlockHeader, length) == 0x18);
static_assert(offsetof(DiskBlockHeader, block_bytes) == 0x1C);
static_assert(offsetof(DiskBlockHeader, checksum) == 0x20);

// The folder of block files; thread-safe.
class DiskTier {
 public:
  // Uses folder `dir` (made, with its parents, if missing; an existing folder must be empty or
  // hold the marker) for at most `limit` bytes of block files of blocks of
  // `block_bytes`: takes its lock, removes temporary files a crash left,
  // indexes the block files earlier runs left (by mtime) and evicts beyond
  // `limit`. Throws Error naming the folder when it cannot be made, read or
  // locked (another vdiskfs uses it), or holds other files.
  DiskTier(std::string dir, uint64_t limit, uint32_t block_bytes);
  ~DiskTier();
  DiskTier(const DiskTier&) = delete;
  DiskTier& operator=(const DiskTier&) = delete;

  // Whether block `id` has a file (not yet checked).
  bool holds(const BlockId& id) const;
  // Reads block `id`, `length` bytes, into `buf`: true when its file is
  // there with a matching header and checksum. A file that fails is
  // removed, with a warning line, and false returned.
  bool load(const BlockId& id, uint8_t* buf, size_t length);
  // Keeps block `id` (`length` bytes at `data`): writes its file unless it
  // has one, and makes it the most recently used; evicts the least
  // recently used files beyond the limit. A failed write leaves no file
  // (the first failure is logged).
  void store(const BlockId& id, const uint8_t* data, size_t length);
  // Bytes of block files held now (each counted rounded up to 4 KiB).
  uint64_t bytes() const;
  // Block files evicted for room since the tier was made.
  uint64_t evictions() const;
  // The bytes a block file of a `length`-byte block is counted as.
  static uint64_t charge(size_t length);

 private:
  struct Entry {
    BlockId id;
    uint64_t charge;
  };
  // Path of block `id`'s file.
  std::string path_of(const BlockId& id) const;
  // Opens or makes the folder, its marker and lock, and its subfolders.
  void open_folder();
  // Indexes the block files found, oldest mtime first; removes temp files.
  void index_files();
  // Makes block `id` (with `charge` bytes, file written) the most recent,
  // then evicts beyond the limit. Caller holds mutex_.
  void insert_locked(const BlockId& id, uint64_t charge);
  // Removes block `id`'s file and entry if indexed. Caller holds mutex_.
  void remove_locked(const BlockId& id);
  // Writes block `id` to a temp file and renames it into place, indexed;
  // returns 0, or the errno of the failure (no file left then).
  int write_file(const BlockId& id, const uint8_t* data, size_t length);
  // Whether the open block file `fd` holds block `id` of `length` bytes,
  // read into `buf`.
  bool read_file(int fd, const BlockId& id, uint8_t* buf, size_t length) const;

  std::string dir_;
  uint64_t limit_;
  uint32_t block_bytes_;
  int lock_fd_ = -1;
  mutable std::mutex mutex_;
  uint64_t bytes_ = 0;
  uint64_t evictions_ = 0;
  uint64_t temp_serial_ = 0;
  bool write_failure_logged_ = false;
  std::list<Entry> order_;  // front: most recently used
  std::unordered_map<BlockId, std::list<Entry>::iterator, BlockIdHash> where_;
};

}  // namespace vdiskfs
