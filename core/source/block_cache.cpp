#include "core/source/block_cache.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>

#include "core/image/arith.h"
#include "core/image/error.h"
#include "core/image/log.h"
#include "core/source/block_cache_disk.h"

namespace vdiskfs {

namespace {

// The bytes a block of `length` bytes is counted as in the memory bound.
uint64_t memory_charge(size_t length) { return align_up(length, 4096); }

}  // namespace

// A block's bytes, shared by the cache and the readers copying out of it.
struct BlockCache::Block {
  BlockId id;
  size_t size = 0;
  std::unique_ptr<uint8_t[]> bytes;
};

// The one load of a missing block that its readers wait for.
struct BlockCache::Flight {
  std::condition_variable done_cv;
  bool done = false;
  Status status = Status::ok;
  bool from_disk = false;
  BlockRef block;
};

bool BlockCache::Held::note_read(size_t within, size_t len) {
  const size_t first = within / kPageBytes, last = (within + len - 1) / kPageBytes;
  bool again = false;
  if (within != last_end) {
    for (size_t p = first; p <= last; ++p) again |= (read_pages[p / 64] >> (p % 64) & 1) != 0;
  }
  for (size_t p = first; p <= last; ++p) read_pages[p / 64] |= uint64_t(1) << (p % 64);
  last_end = within + len;
  return again;
}

BlockCache::BlockCache(BlockCacheOptions options) : options_(std::move(options)) {
  const uint32_t block = options_.block_bytes;
  if (block < 4096 || block > (16u << 20) || (block & (block - 1)) != 0) {
    fail("block cache: the block size {} bytes is not a power of two from 4 KiB to 16 MiB", block);
  }
  if (options_.memory_bytes < block) {
    fail("block cache: the memory bound {} bytes is below one block ({} bytes)", options_.memory_bytes, block);
  }
  if (options_.dir.empty() && options_.dir_bytes != 0) {
    fail("block cache: a bound for the cache folder ({} bytes) but no cache folder", options_.dir_bytes);
  }
  if (!options_.dir.empty()) {
    if (options_.dir_bytes < DiskTier::charge(block)) {
      fail("cache folder {}: its bound {} bytes is below one block file ({} bytes)", options_.dir, options_.dir_bytes,
           DiskTier::charge(block));
    }
    disk_ = std::make_unique<DiskTier>(options_.dir, options_.dir_bytes, block);
  }
  policy_ = make_replacement_policy(options_.policy, options_.memory_bytes);
  counters_.memory_limit = options_.memory_bytes;
  counters_.disk_limit = options_.dir_bytes;
  counters_.policy = options_.policy;
}

BlockCache::~BlockCache() {
  if (!disk_) return;
  std::vector<BlockId> held;
  policy_->held(held);
  for (const BlockId& id : held) {
    const Block& block = *blocks_.at(id).block;
    disk_->store(id, block.bytes.get(), block.size);
  }
}

size_t BlockCache::block_length(uint64_t file_size, uint64_t index) const {
  const uint64_t start = index * options_.block_bytes;
  return size_t(std::min<uint64_t>(options_.block_bytes, file_size - start));
}

Status BlockCache::read(uint64_t file_key, uint64_t file_size, uint64_t offset, uint8_t* buf, size_t len,
                        const BlockFetch& fetch) {
  if (offset > file_size || len > file_size - offset) {
    log_error("block cache: a read of {} bytes at {} goes beyond the end of its file ({} bytes)", len, offset,
              file_size);
    return Status::io_error;
  }
  for (size_t done = 0; done < len;) {
    const uint64_t pos = offset + done;
    const uint64_t index = pos / options_.block_bytes;
    const size_t within = size_t(pos % options_.block_bytes);
    const size_t length = block_length(file_size, index);
    const size_t n = std::min(len - done, length - within);
    BlockRef block;
    const Status s = lookup(BlockId{file_key, index}, length, Asked{within, n}, fetch, block);
    if (!ok(s)) return s;
    std::memcpy(buf + done, block->bytes.get() + within, n);
    done += n;
  }
  return Status::ok;
}

Status BlockCache::prefetch(uint64_t file_key, uint64_t file_size, uint64_t index, const BlockFetch& fetch) {
  if (index >= div_up(file_size, options_.block_bytes)) return Status::ok;
  BlockRef block;
  return lookup(BlockId{file_key, index}, block_length(file_size, index), Asked{}, fetch, block);
}

Status BlockCache::lookup(const BlockId& id, size_t length, Asked asked, const BlockFetch& fetch, BlockRef& out) {
  std::unique_lock lock(mutex_);
  auto held = blocks_.find(id);
  if (held != blocks_.end()) {
    if (asked.len != 0) {
      policy_->hit(id, held->second.note_read(asked.within, asked.len));
      ++counters_.hits;
      counters_.hit_bytes += asked.len;
    }
    out = held->second.block;
    return Status::ok;
  }
  if (asked.len != 0) ++counters_.misses;
  std::shared_ptr<Flight> flight;
  auto running = flights_.find(id);
  if (running != flights_.end()) {
    flight = running->second;
    flight->done_cv.wait(lock, [&] { return flight->done; });
  } else {
    flight = std::make_shared<Flight>();
    flights_.emplace(id, flight);
    lock.unlock();
    std::vector<BlockRef> evicted;
    run_flight(id, length, fetch, *flight, lock, evicted);
    if (ok(flight->status) && asked.len != 0) blocks_.at(id).note_read(asked.within, asked.len);
    lock.unlock();
    spill(evicted);
    lock.lock();
  }
  if (asked.len != 0) count_miss_locked(*flight, asked.len);
  out = flight->block;
  return flight->status;
}

void BlockCache::run_flight(const BlockId& id, size_t length, const BlockFetch& fetch, Flight& flight,
                            std::unique_lock<std::mutex>& lock, std::vector<BlockRef>& evicted) {
  Status status = Status::io_error;
  BlockRef block;
  bool from_disk = false;
  try {
    status = load(id, length, fetch, block, from_disk);
  } catch (...) {
    lock.lock();
    finish_locked(id, flight, Status::io_error, nullptr, false, evicted);
    lock.unlock();
    throw;
  }
  lock.lock();
  finish_locked(id, flight, status, std::move(block), from_disk, evicted);
}

Status BlockCache::load(const BlockId& id, size_t length, const BlockFetch& fetch, BlockRef& out, bool& from_disk) {
  auto block = std::make_shared<Block>();
  block->id = id;
  block->size = length;
  block->bytes.reset(new uint8_t[length]);
  from_disk = disk_ && disk_->load(id, block->bytes.get(), length);
  if (!from_disk) {
    const Status s = fetch(id.index * options_.block_bytes, block->bytes.get(), length);
    if (!ok(s)) return s;
  }
  out = std::move(block);
  return Status::ok;
}

void BlockCache::finish_locked(const BlockId& id, Flight& flight, Status status, BlockRef block, bool from_disk,
                               std::vector<BlockRef>& evicted) {
  flights_.erase(id);
  flight.done = true;
  flight.status = status;
  flight.from_disk = from_disk;
  if (ok(status)) {
    if (!from_disk) counters_.fetched_bytes += block->size;
    std::vector<BlockId> out;
    policy_->admit(id, memory_charge(block->size), out);
    for (const BlockId& gone : out) {
      auto it = blocks_.find(gone);
      evicted.push_back(std::move(it->second.block));
      blocks_.erase(it);
      ++counters_.evictions;
    }
    const size_t pages = div_up(options_.block_bytes / Held::kPageBytes, 64);
    blocks_.emplace(id, Held{block, std::vector<uint64_t>(pages), 0});
    flight.block = std::move(block);
  }
  flight.done_cv.notify_all();
}

void BlockCache::count_miss_locked(const Flight& flight, size_t asked) {
  if (ok(flight.status) && flight.from_disk) {
    ++counters_.disk_hits;
    counters_.hit_bytes += asked;
  } else {
    counters_.miss_bytes += asked;
  }
}

void BlockCache::spill(const std::vector<BlockRef>& evicted) {
  if (!disk_) return;
  for (const BlockRef& block : evicted) disk_->store(block->id, block->bytes.get(), block->size);
}

bool BlockCache::holds(uint64_t file_key, uint64_t index) const {
  const BlockId id{file_key, index};
  {
    std::lock_guard lock(mutex_);
    if (blocks_.count(id) != 0) return true;
  }
  return disk_ && disk_->holds(id);
}

CacheStats BlockCache::stats() const {
  CacheStats s;
  {
    std::lock_guard lock(mutex_);
    s = counters_;
    s.memory_bytes = policy_->held_bytes();
  }
  if (disk_) {
    s.disk_bytes = disk_->bytes();
    s.disk_evictions = disk_->evictions();
  }
  return s;
}

std::vector<std::pair<std::string, uint64_t>> cache_stat_rows(const CacheStats& s) {
  return {{"cache_hits", s.hits},
          {"cache_misses", s.misses},
          {"cache_disk_hits", s.disk_hits},
          {"cache_hit_bytes", s.hit_bytes},
          {"cache_miss_bytes", s.miss_bytes},
          {"cache_fetched_bytes", s.fetched_bytes},
          {"cache_evictions", s.evictions},
          {"cache_disk_evictions", s.disk_evictions},
          {"cache_memory_bytes", s.memory_bytes},
          {"cache_memory_limit", s.memory_limit},
          {"cache_disk_bytes", s.disk_bytes},
          {"cache_disk_limit", s.disk_limit}};
}

}  // namespace vdiskfs
