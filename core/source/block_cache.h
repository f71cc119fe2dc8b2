#pragma once
// The block cache in front of a remote source (issue #16): file data in
// blocks of a fixed size, held in a bounded memory tier under a replacement
// policy (LRU, or ARC, which keeps blocks read repeatedly through a
// one-pass scan), and optionally in a bounded folder on local disk that
// takes the blocks evicted from memory and outlives the mount.
//
// Thread-safe: many readers at once. A missing block is fetched once
// however many readers want it (single flight); a failed fetch is not
// cached. Memory holds at most memory_bytes of blocks (each counted
// rounded up to 4 KiB), plus the blocks in flight: being fetched, copied
// out to a reader, or written to the disk tier at the moment (a block
// evicted meanwhile lives until that ends).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/image/status.h"
#include "core/source/block_cache_policy.h"

namespace vdiskfs {

class DiskTier;

// How a BlockCache is sized and where its disk tier is.
struct BlockCacheOptions {
  uint64_t memory_bytes = 256ull << 20;  // bound of the memory tier, bytes (at least one block)
  uint32_t block_bytes = 1u << 20;       // cache block, bytes (power of two, 4 KiB..16 MiB)
  CachePolicy policy = CachePolicy::arc;
  std::string dir;                       // optional disk tier folder ("" = none): blocks evicted from memory go there
  uint64_t dir_bytes = 0;                // bound of the disk tier, bytes (required with dir; at least one block + 4 KiB)
};

// Counters since the cache was made. A lookup is one block of one read: a
// read spanning three blocks makes three.
struct CacheStats {
  uint64_t hits = 0, misses = 0;          // block lookups served from memory / not
  uint64_t disk_hits = 0;                 // misses of the memory tier served by the disk tier
  uint64_t hit_bytes = 0, miss_bytes = 0; // bytes the readers asked for, served from cache (memory
                                          // or disk) / waiting for a fetch from the source
  uint64_t fetched_bytes = 0;             // bytes fetched from the source (whole blocks)
  uint64_t evictions = 0, disk_evictions = 0;  // blocks evicted from memory / block files from disk
  uint64_t memory_bytes = 0, disk_bytes = 0;   // held now
  uint64_t memory_limit = 0, disk_limit = 0;
  CachePolicy policy = CachePolicy::arc;
};

// The counters as (name, number) pairs in a stable order, for `vdiskfs
// stats` (Source::stats): "cache_hits", "cache_misses", ...
std::vector<std::pair<std::string, uint64_t>> cache_stat_rows(const CacheStats& stats);

// Fetches whole blocks of a file from the source: `len` bytes at `offset`
// (bytes); Status::ok or the failure to pass on.
using BlockFetch = std::function<Status(uint64_t offset, uint8_t* buf, size_t len)>;

class BlockCache {
 public:
  // Throws Error for bad options or a disk folder that cannot be used
  // (naming it).
  explicit BlockCache(BlockCacheOptions options);
  // Writes the blocks held in memory to the disk tier, if any, so that the
  // next mount finds them. No read may be running.
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  // Reads [offset, offset + len) of the file `file_key` (a stable 64-bit
  // key the source makes from the file's path, size and mtime, so a disk
  // tier stays valid across mounts only for the same file) of `file_size`
  // bytes, through the cache; a missing block is fetched once (concurrent
  // readers of the same missing block wait for that one fetch: single
  // flight) with `fetch` for the whole block (the last block of a file is
  // short). A failed fetch is not cached and its Status is returned. A
  // range beyond `file_size` gives Status::io_error and a log line.
  Status read(uint64_t file_key, uint64_t file_size, uint64_t offset, uint8_t* buf, size_t len,
              const BlockFetch& fetch);
  // Makes block `index` of `file_key` held, fetching it (single flight) if
  // it is not: read-ahead. Counts no lookup; a later read of it is a hit.
  // A block past the end of the file is nothing to do.
  Status prefetch(uint64_t file_key, uint64_t file_size, uint64_t index, const BlockFetch& fetch);
  // Starts nothing; returns whether block `index` of `file_key` is held
  // (memory or disk), for read-ahead decisions.
  bool holds(uint64_t file_key, uint64_t index) const;
  CacheStats stats() const;
  // The cache block, bytes.
  uint32_t block_bytes() const { return options_.block_bytes; }

 private:
  struct Block;
  struct Flight;
  using BlockRef = std::shared_ptr<const Block>;
  // A block held in memory, with the 4 KiB pages of it readers have read
  // and where the last read of it ended: reading a page again is what the
  // policy sees as a re-use (ARC: T1 to T2). Going on where the last read
  // ended is the same use (a sequential reader in reads smaller than the
  // block), and a block loaded by read-ahead has no page read yet.
  struct Held {
    static constexpr size_t kPageBytes = 4096;
    BlockRef block;
    std::vector<uint64_t> read_pages;  // bit p: page p has been read
    size_t last_end = 0;               // byte after the last read, within the block
    // Marks [within, within + len) read (len > 0); true when that is a re-use.
    bool note_read(size_t within, size_t len);
  };
  // The bytes a reader wants from a block: `len` bytes from byte `within`
  // (len 0: read-ahead, which counts no lookup).
  struct Asked {
    size_t within = 0;
    size_t len = 0;
  };

  // The block `id` of `length` bytes, from memory, from the flight that
  // loads it, or loaded now; counts the lookup unless asked.len is 0.
  Status lookup(const BlockId& id, size_t length, Asked asked, const BlockFetch& fetch, BlockRef& out);
  // Loads block `id` for `flight` (registered, `lock` not held) and ends
  // the flight under `lock`, which it leaves held; the blocks evicted for
  // room go to `evicted`. A throwing fetch ends the flight failed, unlocked.
  void run_flight(const BlockId& id, size_t length, const BlockFetch& fetch, Flight& flight,
                  std::unique_lock<std::mutex>& lock, std::vector<BlockRef>& evicted);
  // Loads block `id` from the disk tier or the source, no lock held.
  Status load(const BlockId& id, size_t length, const BlockFetch& fetch, BlockRef& out, bool& from_disk);
  // Ends `flight` with `status`, admitting `block` when ok and moving the
  // blocks evicted for it to `evicted`; wakes its waiters. Caller holds mutex_.
  void finish_locked(const BlockId& id, Flight& flight, Status status, BlockRef block, bool from_disk,
                     std::vector<BlockRef>& evicted);
  // Counts the bytes of a lookup that missed memory and waited for
  // `flight`, and whether the disk tier served it. Caller holds mutex_.
  void count_miss_locked(const Flight& flight, size_t asked);
  // Hands blocks evicted from memory to the disk tier (no lock held).
  void spill(const std::vector<BlockRef>& evicted);
  // Bytes of block `index` of a file of `file_size` bytes.
  size_t block_length(uint64_t file_size, uint64_t index) const;

  BlockCacheOptions options_;
  std::unique_ptr<DiskTier> disk_;
  mutable std::mutex mutex_;  // guards what follows
  std::unique_ptr<ReplacementPolicy> policy_;
  std::unordered_map<BlockId, Held, BlockIdHash> blocks_;
  std::unordered_map<BlockId, std::shared_ptr<Flight>, BlockIdHash> flights_;
  CacheStats counters_;
};

}  // namespace vdiskfs
