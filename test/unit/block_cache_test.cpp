// BlockCache (issue #16): the LRU and ARC policies (exact orders, the
// paper's steps, a scan that ARC resists and LRU does not), single flight,
// failed fetches, the memory bound under many threads, and the disk tier
// (reuse across instances, bound, torn and damaged files).
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/image/error.h"
#include "core/source/block_cache.h"
#include "core/source/block_cache_arc.h"
#include "core/source/block_cache_lru.h"
#include "test_images.h"

using namespace vdiskfs;
using vdiskfs::test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kBlock = 4096;

// The byte at `offset` of the fake file with key `key`.
uint8_t pattern(uint64_t key, uint64_t offset) { return uint8_t((offset * 131 + key * 7) ^ (offset >> 12)); }

// A fake remote source: files by key, with the fetches counted per block.
struct FakeSource {
  std::atomic<int> fetches{0};
  std::atomic<bool> failing{false};
  std::chrono::milliseconds delay{0};
  std::function<void()> before;  // called first in every fetch
  std::mutex mutex;
  std::map<std::pair<uint64_t, uint64_t>, int> per_block;  // (key, index) -> fetches
  std::vector<std::pair<uint64_t, uint64_t>> log;          // (key, index) in fetch order

  BlockFetch fetch(uint64_t key) {
    return [this, key](uint64_t offset, uint8_t* buf, size_t len) {
      ++fetches;
      if (before) before();
      if (delay.count()) std::this_thread::sleep_for(delay);
      {
        std::lock_guard lock(mutex);
        ++per_block[{key, offset / kBlock}];
        log.emplace_back(key, offset / kBlock);
      }
      if (failing) return Status::io_error;
      for (size_t i = 0; i < len; ++i) buf[i] = pattern(key, offset + i);
      return Status::ok;
    };
  }
  int fetched(uint64_t key) {
    std::lock_guard lock(mutex);
    int n = 0;
    for (auto& [id, count] : per_block) n += id.first == key ? count : 0;
    return n;
  }
};

// Reads [offset, offset + len) of file `key` (`size` bytes) through `cache`
// and checks the bytes.
void read_check(BlockCache& cache, FakeSource& src, uint64_t key, uint64_t size, uint64_t offset, size_t len) {
  std::vector<uint8_t> buf(len);
  REQUIRE(cache.read(key, size, offset, buf.data(), len, src.fetch(key)) == Status::ok);
  for (size_t i = 0; i < len; ++i) {
    if (buf[i] != pattern(key, offset + i)) FAIL("byte " << offset + i << " of file " << key);
  }
}

// Reads block `index` of file `key` (of `blocks` whole blocks) whole.
void read_block(BlockCache& cache, FakeSource& src, uint64_t key, uint64_t index, uint64_t blocks = 1000) {
  read_check(cache, src, key, blocks * kBlock, index * kBlock, kBlock);
}

BlockCacheOptions options(CachePolicy policy, uint64_t memory_blocks) {
  BlockCacheOptions o;
  o.block_bytes = kBlock;
  o.memory_bytes = memory_blocks * kBlock;
  o.policy = policy;
  return o;
}

BlockCacheOptions disk_options(const fs::path& dir, uint64_t memory_blocks, uint64_t dir_blocks) {
  BlockCacheOptions o = options(CachePolicy::lru, memory_blocks);
  o.dir = dir.string();
  o.dir_bytes = dir_blocks * (kBlock + 4096);  // a block file: header + block, in 4 KiB units
  return o;
}

BlockId id(uint64_t index) { return BlockId{1, index}; }

// Admits `index` into `policy` and returns the indices it evicted.
std::vector<uint64_t> admit(ReplacementPolicy& policy, uint64_t index) {
  std::vector<BlockId> evicted;
  policy.admit(id(index), kBlock, evicted);
  std::vector<uint64_t> out;
  for (const BlockId& e : evicted) out.push_back(e.index);
  return out;
}

std::vector<uint64_t> held(const ReplacementPolicy& policy) {
  std::vector<BlockId> ids;
  policy.held(ids);
  std::vector<uint64_t> out;
  for (const BlockId& e : ids) out.push_back(e.index);
  return out;
}

// The block files of a cache folder.
std::vector<fs::path> block_files(const fs::path& dir) {
  std::vector<fs::path> out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && e.path().filename().string().size() == 33) out.push_back(e.path());
  }
  return out;
}

using List = ArcPolicy::List;

}  // namespace

TEST_CASE("Cache policy names", "[cache]") {
  CachePolicy p = CachePolicy::lru;
  REQUIRE(parse_cache_policy("arc", p));
  CHECK(p == CachePolicy::arc);
  REQUIRE(parse_cache_policy("lru", p));
  CHECK(p == CachePolicy::lru);
  CHECK_FALSE(parse_cache_policy("lfu", p));
  CHECK(cache_policy_name(CachePolicy::arc) == "arc");
  CHECK(cache_policy_name(CachePolicy::lru) == "lru");
}

TEST_CASE("LRU evicts the least recently read block, in exact order", "[cache]") {
  LruPolicy lru(3 * kBlock);
  CHECK(admit(lru, 0).empty());
  CHECK(admit(lru, 1).empty());
  CHECK(admit(lru, 2).empty());
  lru.hit(id(0), false);
  CHECK(admit(lru, 3) == std::vector<uint64_t>{1});
  CHECK(admit(lru, 4) == std::vector<uint64_t>{2});
  lru.hit(id(0), true);
  CHECK(held(lru) == std::vector<uint64_t>{3, 4, 0});
  CHECK(admit(lru, 5) == std::vector<uint64_t>{3});
  CHECK(lru.held_bytes() == 3 * kBlock);
  // A block of two charges evicts two.
  std::vector<BlockId> evicted;
  lru.admit(id(6), 2 * kBlock, evicted);
  CHECK(evicted == std::vector<BlockId>{id(4), id(0)});
  CHECK(held(lru) == std::vector<uint64_t>{5, 6});
}

TEST_CASE("LRU through BlockCache: fetch order, hits and evictions", "[cache]") {
  FakeSource src;
  BlockCache cache(options(CachePolicy::lru, 3));
  for (uint64_t i : {0, 1, 2, 0, 3, 1, 0, 2}) read_block(cache, src, 1, i);
  // 0 1 2 | 0 hit | 3 evicts 1 | 1 evicts 2 | 0 hit | 2 evicts 3
  CHECK(src.log == std::vector<std::pair<uint64_t, uint64_t>>{{1, 0}, {1, 1}, {1, 2}, {1, 3}, {1, 1}, {1, 2}});
  const CacheStats s = cache.stats();
  CHECK(s.hits == 2);
  CHECK(s.misses == 6);
  CHECK(s.evictions == 3);
  CHECK(s.hit_bytes == 2 * kBlock);
  CHECK(s.miss_bytes == 6 * kBlock);
  CHECK(s.fetched_bytes == 6 * kBlock);
  CHECK(s.memory_bytes == 3 * kBlock);
  CHECK(s.memory_limit == 3 * kBlock);
  CHECK(s.policy == CachePolicy::lru);
  CHECK(cache.holds(1, 0));
  CHECK_FALSE(cache.holds(1, 3));
}

TEST_CASE("ARC follows the paper's steps (T1, T2, B1, B2, p)", "[cache]") {
  ArcPolicy arc(4 * kBlock);  // c = 4 blocks
  for (uint64_t i : {0, 1, 2, 3}) CHECK(admit(arc, i).empty());  // T1 = 3 2 1 0
  arc.hit(id(0), true);                                          // case I: 0 to T2
  CHECK(arc.where(id(0)) == List::t2);
  CHECK(admit(arc, 4) == std::vector<uint64_t>{1});  // IV-B, REPLACE: |T1| = 3 > p = 0: T1's LRU to B1
  CHECK(arc.where(id(1)) == List::b1);
  CHECK(admit(arc, 1) == std::vector<uint64_t>{2});  // II: B1 hit, p = 1; REPLACE: |T1| = 3 > 1
  CHECK(arc.target() == 1 * kBlock);
  CHECK(arc.where(id(1)) == List::t2);
  CHECK(arc.where(id(2)) == List::b1);
  CHECK(admit(arc, 5) == std::vector<uint64_t>{3});  // IV-B: |T1| = 2 > p = 1
  arc.hit(id(4), true);                              // T1 = 5, T2 = 4 1 0
  CHECK(admit(arc, 6) == std::vector<uint64_t>{0});  // IV-B: |T1| = 1 = p: T2's LRU to B2
  CHECK(arc.where(id(0)) == List::b2);
  CHECK(arc.bytes(List::b1) == 2 * kBlock);
  CHECK(arc.bytes(List::b2) == 1 * kBlock);
  // III: B2 hit; p shrinks by |B1| / |B2| = 2 blocks, to 0; REPLACE: |T1| = 2 > 0.
  CHECK(admit(arc, 0) == std::vector<uint64_t>{5});
  CHECK(arc.target() == 0);
  CHECK(arc.where(id(0)) == List::t2);
  CHECK(arc.bytes(List::t1) == 1 * kBlock);
  CHECK(arc.bytes(List::b1) == 3 * kBlock);  // 5 3 2
  // IV-A: |T1| + |B1| = c: B1's LRU (2) is forgotten, then REPLACE moves 6 to B1.
  CHECK(admit(arc, 7) == std::vector<uint64_t>{6});
  CHECK(arc.where(id(2)) == List::none);
  CHECK(arc.where(id(6)) == List::b1);
  CHECK(held(arc) == std::vector<uint64_t>{7, 1, 4, 0});  // T1 then T2, least recent first
  // A read going on through a T1 block is no re-use: it stays in T1.
  arc.hit(id(7), false);
  CHECK(arc.where(id(7)) == List::t1);
}

TEST_CASE("ARC keeps its invariants under a random workload of mixed sizes", "[cache]") {
  const uint64_t c = 64 * kBlock;
  ArcPolicy arc(c);
  std::mt19937_64 rng(7);
  std::map<uint64_t, uint64_t> charge;  // index -> charge, fixed per block
  std::vector<BlockId> evicted;
  for (int step = 0; step < 20000; ++step) {
    const uint64_t index = rng() % 300 < 200 ? rng() % 40 : rng() % 2000;
    if (!charge.count(index)) charge[index] = (1 + rng() % 4) * kBlock;
    const List where = arc.where(id(index));
    if (where == List::t1 || where == List::t2) {
      arc.hit(id(index), rng() % 2 == 0);
    } else {
      evicted.clear();
      arc.admit(id(index), charge[index], evicted);
      for (const BlockId& e : evicted) REQUIRE((arc.where(e) == List::b1 || arc.where(e) == List::b2 ||
                                                arc.where(e) == List::none));
      REQUIRE((arc.where(id(index)) == List::t1 || arc.where(id(index)) == List::t2));
    }
    const uint64_t t1 = arc.bytes(List::t1), t2 = arc.bytes(List::t2), b1 = arc.bytes(List::b1),
                   b2 = arc.bytes(List::b2);
    REQUIRE(t1 + t2 <= c);
    REQUIRE(t1 + b1 <= c);
    REQUIRE(t1 + t2 + b1 + b2 <= 2 * c);
    REQUIRE(arc.target() <= c);
    REQUIRE(arc.held_bytes() == t1 + t2);
  }
}

// A hot set of 4 blocks read twice, then 20 rounds of 20 blocks of a file
// read once (a scan, 25 times the cache) each followed by the hot set again,
// with a cache of 16 blocks: the hot set's fetches count what was lost.
// `piece` is the size of the reads the scan makes through each block.
int hot_fetches_after_scan(CachePolicy policy, size_t piece) {
  FakeSource src;
  BlockCache cache(options(policy, 16));
  const uint64_t hot = 1, scan = 2, scan_size = 400 * kBlock;
  for (int pass = 0; pass < 2; ++pass) {
    for (uint64_t i = 0; i < 4; ++i) read_block(cache, src, hot, i, 4);
  }
  for (uint64_t round = 0; round < 20; ++round) {
    for (uint64_t b = round * 20; b < round * 20 + 20; ++b) {
      for (size_t at = 0; at < kBlock; at += piece) read_check(cache, src, scan, scan_size, b * kBlock + at, piece);
    }
    for (uint64_t i = 0; i < 4; ++i) read_block(cache, src, hot, i, 4);
  }
  REQUIRE(src.fetched(scan) == 400);
  REQUIRE(cache.stats().memory_bytes <= 16 * kBlock);
  return src.fetched(hot);
}

TEST_CASE("A one-pass scan larger than the cache: ARC keeps the hot set, LRU loses it", "[cache]") {
  // LRU: each round's 20 scan blocks push the 4 hot blocks out (16 fit).
  CHECK(hot_fetches_after_scan(CachePolicy::lru, kBlock) == 4 + 20 * 4);
  // ARC: the hot blocks are in T2; scan blocks enter T1 and leave by B1.
  CHECK(hot_fetches_after_scan(CachePolicy::arc, kBlock) == 4);
  // The same with the scan reading each block in four sequential pieces:
  // going on through a block is not a re-use.
  CHECK(hot_fetches_after_scan(CachePolicy::arc, kBlock / 4) == 4);
  CHECK(hot_fetches_after_scan(CachePolicy::lru, kBlock / 4) == 4 + 20 * 4);
}

TEST_CASE("Reads span blocks; the last block of a file is short", "[cache]") {
  FakeSource src;
  BlockCache cache(options(CachePolicy::arc, 8));
  const uint64_t size = 2 * kBlock + 1808;
  read_check(cache, src, 9, size, 4000, size - 4000);
  CHECK(src.log == std::vector<std::pair<uint64_t, uint64_t>>{{9, 0}, {9, 1}, {9, 2}});
  read_check(cache, src, 9, size, 0, size);
  read_check(cache, src, 9, size, size - 1, 1);
  CHECK(src.fetches == 3);
  const CacheStats s = cache.stats();
  CHECK(s.misses == 3);
  CHECK(s.hits == 4);
  CHECK(s.fetched_bytes == size);
  CHECK(s.memory_bytes == 3 * kBlock);  // the short block counts as 4 KiB
  // Beyond the end: an error, no fetch.
  uint8_t b[2];
  CHECK(cache.read(9, size, size - 1, b, 2, src.fetch(9)) == Status::io_error);
  CHECK(cache.read(9, size, size, b, 0, src.fetch(9)) == Status::ok);
  CHECK(src.fetches == 3);
}

TEST_CASE("Single flight: readers of one missing block share one fetch", "[cache]") {
  FakeSource src;
  BlockCache cache(options(CachePolicy::arc, 8));
  constexpr int kReaders = 8;
  // The fetch goes on once every reader has missed (then waits for it).
  src.before = [&] {
    for (int i = 0; i < 1000 && cache.stats().misses < kReaders; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  std::latch start(kReaders);
  std::vector<std::thread> readers;
  std::atomic<int> good{0};
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      std::vector<uint8_t> buf(512);
      start.arrive_and_wait();
      const uint64_t offset = 5 * kBlock + uint64_t(t) * 512;
      if (cache.read(3, 100 * kBlock, offset, buf.data(), buf.size(), src.fetch(3)) != Status::ok) return;
      for (size_t i = 0; i < buf.size(); ++i) {
        if (buf[i] != pattern(3, offset + i)) return;
      }
      ++good;
    });
  }
  for (auto& t : readers) t.join();
  CHECK(good == kReaders);
  CHECK(src.fetches == 1);
  const CacheStats s = cache.stats();
  CHECK(s.misses == kReaders);
  CHECK(s.hits == 0);
  CHECK(s.fetched_bytes == kBlock);
}

TEST_CASE("A failed fetch is returned to every waiter and not cached", "[cache]") {
  FakeSource src;
  src.failing = true;
  src.delay = std::chrono::milliseconds(50);
  BlockCache cache(options(CachePolicy::arc, 8));
  std::vector<std::thread> readers;
  std::atomic<int> failed{0};
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      uint8_t buf[100];
      if (cache.read(4, 10 * kBlock, 0, buf, sizeof buf, src.fetch(4)) == Status::io_error) ++failed;
    });
  }
  for (auto& t : readers) t.join();
  CHECK(failed == 4);
  CHECK(src.fetches >= 1);
  CHECK_FALSE(cache.holds(4, 0));
  CHECK(cache.stats().memory_bytes == 0);
  CHECK(cache.stats().fetched_bytes == 0);
  const int before = src.fetches;
  src.failing = false;
  src.delay = {};
  read_check(cache, src, 4, 10 * kBlock, 0, 100);
  CHECK(src.fetches == before + 1);
  CHECK(cache.holds(4, 0));
}

TEST_CASE("A throwing fetch ends its flight; the next read fetches again", "[cache]") {
  BlockCache cache(options(CachePolicy::lru, 4));
  uint8_t buf[16];
  const BlockFetch throwing = [](uint64_t, uint8_t*, size_t) -> Status { throw std::runtime_error("boom"); };
  CHECK_THROWS_AS(cache.read(1, kBlock, 0, buf, sizeof buf, throwing), std::runtime_error);
  FakeSource src;
  read_check(cache, src, 1, kBlock, 0, 16);
  CHECK(src.fetches == 1);
}

TEST_CASE("Memory stays bounded and data correct under many threads", "[cache]") {
  FakeSource src;
  for (CachePolicy policy : {CachePolicy::lru, CachePolicy::arc}) {
    BlockCache cache(options(policy, 32));
    std::atomic<bool> over{false}, wrong{false};
    std::vector<std::thread> readers;
    for (int t = 0; t < 6; ++t) {
      readers.emplace_back([&, t] {
        std::mt19937_64 rng(uint64_t(t) + 1);
        std::vector<uint8_t> buf(3 * kBlock);
        for (int n = 0; n < 3000; ++n) {
          const uint64_t key = 10 + rng() % 5, size = (40 + key) * kBlock + key * 100;
          const uint64_t offset = rng() % size;
          const size_t len = size_t(std::min<uint64_t>(1 + rng() % buf.size(), size - offset));
          if (cache.read(key, size, offset, buf.data(), len, src.fetch(key)) != Status::ok) wrong = true;
          for (size_t i = 0; i < len; ++i) {
            if (buf[i] != pattern(key, offset + i)) wrong = true;
          }
          if (cache.stats().memory_bytes > 32 * kBlock) over = true;
        }
      });
    }
    for (auto& t : readers) t.join();
    CHECK_FALSE(wrong);
    CHECK_FALSE(over);
    const CacheStats s = cache.stats();
    CHECK(s.evictions > 0);
    CHECK(s.hits > 0);
    CHECK(s.memory_bytes <= s.memory_limit);
  }
}

TEST_CASE("Read-ahead loads a block once and counts no lookup", "[cache]") {
  FakeSource src;
  BlockCache cache(options(CachePolicy::arc, 8));
  CHECK_FALSE(cache.holds(2, 1));
  CHECK(cache.prefetch(2, 3 * kBlock, 1, src.fetch(2)) == Status::ok);
  CHECK(cache.prefetch(2, 3 * kBlock, 1, src.fetch(2)) == Status::ok);
  CHECK(cache.prefetch(2, 3 * kBlock, 3, src.fetch(2)) == Status::ok);  // past the end: nothing
  CHECK(src.fetches == 1);
  CHECK(cache.holds(2, 1));
  CHECK(cache.stats().hits + cache.stats().misses == 0);
  read_block(cache, src, 2, 1, 3);
  CHECK(src.fetches == 1);
  CHECK(cache.stats().hits == 1);
}

TEST_CASE("Bad options are refused with a message", "[cache]") {
  TempDir tmp;
  BlockCacheOptions o = options(CachePolicy::arc, 4);
  o.block_bytes = 3000;
  CHECK_THROWS_WITH(BlockCache(o), Catch::Contains("power of two"));
  o.block_bytes = 32u << 20;
  CHECK_THROWS_WITH(BlockCache(o), Catch::Contains("power of two"));
  o = options(CachePolicy::arc, 4);
  o.memory_bytes = kBlock - 1;
  CHECK_THROWS_WITH(BlockCache(o), Catch::Contains("below one block"));
  o = options(CachePolicy::arc, 4);
  o.dir_bytes = 1 << 20;
  CHECK_THROWS_WITH(BlockCache(o), Catch::Contains("no cache folder"));
  o = disk_options(tmp.path() / "c", 4, 1);
  o.dir_bytes -= 1;
  CHECK_THROWS_WITH(BlockCache(o), Catch::Contains((tmp.path() / "c").string()));
  // A folder with other files is not taken.
  std::ofstream(tmp.path() / "other.txt") << "x";
  CHECK_THROWS_WITH(BlockCache(disk_options(tmp.path(), 4, 8)), Catch::Contains("no VDISKFS-CACHE marker"));
  // A folder that cannot be made.
  CHECK_THROWS_WITH(BlockCache(disk_options(tmp.path() / "other.txt" / "x", 4, 8)), Catch::Contains("cannot make"));
  // Two caches cannot share a folder at once.
  BlockCache first(disk_options(tmp.path() / "c", 4, 8));
  CHECK_THROWS_WITH(BlockCache(disk_options(tmp.path() / "c", 4, 8)), Catch::Contains("in use"));
}

TEST_CASE("Disk tier: evicted blocks are served from disk, also by a later cache", "[cache]") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "cache";
  FakeSource src;
  {
    BlockCache cache(disk_options(dir, 2, 100));
    for (uint64_t i = 0; i < 10; ++i) read_block(cache, src, 7, i, 10);
    CHECK(src.fetches == 10);
    CHECK(block_files(dir).size() == 8);  // evicted from memory
    read_block(cache, src, 7, 0, 10);
    CHECK(src.fetches == 10);
    const CacheStats s = cache.stats();
    CHECK(s.disk_hits == 1);
    CHECK(s.misses == 11);
    CHECK(s.hit_bytes == kBlock);
    CHECK(s.fetched_bytes == 10 * kBlock);
    CHECK(s.disk_bytes == 9 * (kBlock + 4096));  // block 8 went to disk for 0
    CHECK(cache.holds(7, 5));
  }
  CHECK(block_files(dir).size() == 10);  // the memory blocks written at the end
  FakeSource again;
  {
    BlockCache cache(disk_options(dir, 2, 100));
    CHECK(cache.holds(7, 9));
    for (uint64_t i = 0; i < 10; ++i) read_block(cache, again, 7, i, 10);
    CHECK(again.fetches == 0);
    CHECK(cache.stats().disk_hits == 10);
    read_block(cache, again, 8, 0, 10);  // another file (another key): fetched
    CHECK(again.fetches == 1);
  }
}

TEST_CASE("Disk tier: bounded, least recently used files go first, also at start", "[cache]") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "cache";
  FakeSource src;
  // Reads apart in time, so that the files' mtimes (the order a later
  // cache finds) differ even on a coarse clock.
  const auto read_later = [&](BlockCache& cache, uint64_t index) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    read_block(cache, src, 7, index, 10);
  };
  {
    BlockCache cache(disk_options(dir, 1, 3));
    for (uint64_t i = 0; i < 6; ++i) read_later(cache, i);
    // 0..4 went to disk in order; the bound keeps the last three.
    CHECK(block_files(dir).size() == 3);
    CacheStats s = cache.stats();
    CHECK(s.disk_evictions == 2);
    CHECK(s.disk_bytes == 3 * (kBlock + 4096));
    CHECK(s.disk_limit == 3 * (kBlock + 4096));
    CHECK_FALSE(cache.holds(7, 1));
    CHECK(cache.holds(7, 2));
    read_later(cache, 2);  // a disk hit: 2 is the most recent on disk (2 4 3), then 5 comes (5 2 4)
    CHECK(src.fetches == 6);
    CHECK_FALSE(cache.holds(7, 3));
    read_later(cache, 6);  // 2 leaves memory, already on disk: the most recent (2 5 4)
    read_later(cache, 7);  // 6 to disk: 4 goes (6 2 5)
    CHECK(src.fetches == 8);
    CHECK(cache.stats().disk_evictions == 4);
    CHECK_FALSE(cache.holds(7, 4));
    CHECK(cache.holds(7, 2));
    CHECK(cache.holds(7, 5));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }  // 7 to disk at the end: 5 goes (7 6 2)
  CHECK(block_files(dir).size() == 3);
  // A later cache with a bound of two files keeps the two most recent.
  BlockCache cache(disk_options(dir, 1, 2));
  CHECK(block_files(dir).size() == 2);
  CHECK(cache.stats().disk_evictions == 1);
  CHECK(cache.holds(7, 7));
  CHECK(cache.holds(7, 6));
  CHECK_FALSE(cache.holds(7, 2));
}

TEST_CASE("Disk tier: torn or damaged block files are never served", "[cache]") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "cache";
  FakeSource src;
  { BlockCache cache(disk_options(dir, 1, 10));
    for (uint64_t i = 0; i < 4; ++i) read_block(cache, src, 7, i, 4);
  }
  std::vector<fs::path> files = block_files(dir);
  REQUIRE(files.size() == 4);
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename() < b.filename();
  });
  fs::resize_file(files[0], 40 + 100);  // torn: header and part of the block
  {
    std::fstream f(files[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40 + 1000);
    f.put(char(pattern(7, 1 * kBlock + 1000) ^ 0x55));  // one byte changed
  }
  {
    std::fstream f(files[2], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0x10);
    f.put(char(9));  // the header names another block
  }
  // A temp file a crash left is removed at start.
  const fs::path temp = files[3].string() + ".12.tmp";
  std::ofstream(temp) << "partial";
  FakeSource again;
  BlockCache cache(disk_options(dir, 1, 10));
  CHECK_FALSE(fs::exists(temp));
  for (uint64_t i = 0; i < 4; ++i) read_block(cache, again, 7, i, 4);  // read_block checks every byte
  CHECK(again.fetches == 3);
  CHECK(cache.stats().disk_hits == 1);
  // The bad files were removed; blocks 0..2 went back to disk when evicted.
  CHECK(block_files(dir).size() == 4);
}
