// cache_bench: hit rates of the block cache's LRU and ARC policies on a
// workload like a VM booting from a share, and the disk tier's use on a
// second boot. Built and run by bench/cache_bench.sh.
//
//   cache_bench [--hot-mib N] [--hot-files N] [--scan-mib N] [--block-kib N]
//               [--memory-mib A,B,...] [--hot-reads A,B,...] [--dir DIR]
//
// The workload (one seeded trace, the same for both policies):
//  1. boot: every file of the hot set (--hot-files files, --hot-mib MiB in
//     all, sizes from 1/4 to 7/4 of the mean) is read whole, in order, in
//     128 KiB reads: binaries, libraries, the kernel and initrd;
//  2. then one file of --scan-mib MiB (larger than the cache) is read once
//     from start to end in 128 KiB reads (a log, a database, a package
//     cache), and after each MiB of it, --hot-reads reads of 128 KiB from
//     the hot set: a file chosen with Zipf(1) popularity, an aligned offset
//     chosen uniformly: the services that keep re-reading their files.
// The fetch function only fills the buffer: the figures are counts, not
// times. "hot hit %" is the share of the hot reads of phase 2 served from
// memory; "all hit %" is that of every block lookup of both phases.
//
// With --dir, a last run measures the disk tier: a cache with that folder
// (bound 2 × the hot set) runs the workload, then a second cache on the
// same folder (a later mount: memory empty) replays phase 1 and the hot
// reads of phase 2 without the scan; it prints how many lookups the
// memory and the disk served and how many bytes were fetched.
//
// Also prints lookups per second of hits served from memory by 1 and 4
// threads (4 KiB reads), to show what the cache's one lock costs.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/source/block_cache.h"

using namespace vdiskfs;

namespace {

constexpr size_t kRead = 128 << 10;

struct Settings {
  uint64_t hot_mib = 96, scan_mib = 2048;
  unsigned hot_files = 200;
  uint32_t block_kib = 1024;
  std::vector<uint64_t> memory_mib = {64, 128, 256};
  std::vector<unsigned> hot_reads = {1, 4};
  std::string dir;
};

// One read of the trace.
struct Read {
  uint64_t key, size, offset;
  size_t len;
  bool hot;    // a re-read of the hot set in phase 2
  bool scan;   // part of the scan
};

std::vector<uint64_t> hot_sizes(const Settings& s, std::mt19937_64& rng) {
  const uint64_t mean = (s.hot_mib << 20) / s.hot_files;
  std::vector<uint64_t> sizes;
  for (unsigned i = 0; i < s.hot_files; ++i) sizes.push_back(mean / 4 + rng() % (mean * 3 / 2) + 1);
  return sizes;
}

std::vector<Read> make_trace(const Settings& s, unsigned hot_reads, bool with_scan) {
  std::mt19937_64 rng(42);
  const std::vector<uint64_t> sizes = hot_sizes(s, rng);
  std::vector<Read> trace;
  for (unsigned f = 0; f < sizes.size(); ++f) {
    for (uint64_t at = 0; at < sizes[f]; at += kRead) {
      trace.push_back({f + 1, sizes[f], at, size_t(std::min<uint64_t>(kRead, sizes[f] - at)), false, false});
    }
  }
  std::vector<double> weight;
  for (unsigned f = 0; f < sizes.size(); ++f) weight.push_back(1.0 / (f + 1));
  std::discrete_distribution<unsigned> zipf(weight.begin(), weight.end());
  const uint64_t scan_key = 1000000, scan_size = s.scan_mib << 20;
  for (uint64_t mib = 0; mib < s.scan_mib; ++mib) {
    for (uint64_t at = mib << 20; with_scan && at < (mib + 1) << 20; at += kRead) {
      trace.push_back({scan_key, scan_size, at, kRead, false, true});
    }
    for (unsigned r = 0; r < hot_reads; ++r) {
      const unsigned f = zipf(rng);
      const uint64_t offset = rng() % sizes[f] / kRead * kRead;
      trace.push_back({f + 1, sizes[f], offset, size_t(std::min<uint64_t>(kRead, sizes[f] - offset)), true, false});
    }
  }
  return trace;
}

Status fill(uint64_t offset, uint8_t* buf, size_t len) {
  std::memset(buf, int(offset >> 20), len);
  return Status::ok;
}

// Counts of one run of a trace.
struct Outcome {
  uint64_t hot_hits = 0, hot_reads = 0;
  CacheStats stats;
};

Outcome run(BlockCache& cache, const std::vector<Read>& trace) {
  std::vector<uint8_t> buf(kRead);
  Outcome out;
  const BlockFetch fetch = fill;
  for (const Read& r : trace) {
    const uint64_t before = cache.stats().hits;
    if (cache.read(r.key, r.size, r.offset, buf.data(), r.len, fetch) != Status::ok) std::abort();
    if (r.hot) {
      ++out.hot_reads;
      out.hot_hits += cache.stats().hits > before ? 1 : 0;
    }
  }
  out.stats = cache.stats();
  return out;
}

double pct(uint64_t part, uint64_t whole) { return whole ? 100.0 * double(part) / double(whole) : 0; }

BlockCacheOptions options(const Settings& s, uint64_t memory_mib, CachePolicy policy) {
  BlockCacheOptions o;
  o.memory_bytes = memory_mib << 20;
  o.block_bytes = s.block_kib << 10;
  o.policy = policy;
  return o;
}

// Lowest and highest of a set of ratios, as "a–b".
struct Range {
  double lo = 1e300, hi = 0;
  void add(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
};

void policy_table(const Settings& s) {
  Range misses, fetched;
  std::printf("| memory MiB | hot reads per scan MiB | LRU hot hit %% | ARC hot hit %% | LRU all hit %% | ARC all hit %% "
              "| LRU fetched MiB | ARC fetched MiB | fetched ARC / LRU | ARC hot misses / LRU hot misses |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (uint64_t memory : s.memory_mib) {
    for (unsigned hot_reads : s.hot_reads) {
      const std::vector<Read> trace = make_trace(s, hot_reads, true);
      Outcome o[2];
      for (CachePolicy p : {CachePolicy::lru, CachePolicy::arc}) {
        BlockCache cache(options(s, memory, p));
        o[int(p)] = run(cache, trace);
      }
      const Outcome &lru = o[0], &arc = o[1];
      const auto all = [](const Outcome& x) { return pct(x.stats.hits, x.stats.hits + x.stats.misses); };
      std::printf("| %llu | %u | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.2f | %.2f |\n",
                  (unsigned long long)memory, hot_reads, pct(lru.hot_hits, lru.hot_reads), pct(arc.hot_hits, arc.hot_reads),
                  all(lru), all(arc), double(lru.stats.fetched_bytes) / (1 << 20),
                  double(arc.stats.fetched_bytes) / (1 << 20),
                  double(arc.stats.fetched_bytes) / double(lru.stats.fetched_bytes),
                  double(arc.hot_reads - arc.hot_hits) / double(std::max<uint64_t>(1, lru.hot_reads - lru.hot_hits)));
      misses.add(double(arc.hot_reads - arc.hot_hits) / double(std::max<uint64_t>(1, lru.hot_reads - lru.hot_hits)));
      fetched.add(double(arc.stats.fetched_bytes) / double(lru.stats.fetched_bytes));
    }
  }
  std::printf("\nARC / LRU: hot-read misses %.2f to %.2f, bytes fetched from the source %.2f to %.2f "
              "(same trace for both, block lookups counted by the cache)\n",
              misses.lo, misses.hi, fetched.lo, fetched.hi);
}

void disk_tier(const Settings& s) {
  const uint64_t memory = s.memory_mib.front();
  const unsigned hot_reads = s.hot_reads.back();
  for (CachePolicy p : {CachePolicy::lru, CachePolicy::arc}) {
    std::string dir = s.dir + "/" + std::string(cache_policy_name(p));
    std::string cmd = "rm -rf '" + dir + "'";
    if (std::system(cmd.c_str()) != 0) std::abort();
    BlockCacheOptions o = options(s, memory, p);
    o.dir = dir;
    o.dir_bytes = 2 * (s.hot_mib << 20);
    Outcome first, second;
    {
      BlockCache cache(o);
      first = run(cache, make_trace(s, hot_reads, true));
    }
    {
      BlockCache cache(o);
      second = run(cache, make_trace(s, hot_reads, false));
    }
    const uint64_t lookups = second.stats.hits + second.stats.misses;
    std::printf("| %s | %llu | %llu | %.1f | %.1f | %.1f | %.0f | %.0f |\n", std::string(cache_policy_name(p)).c_str(),
                (unsigned long long)memory, (unsigned long long)(o.dir_bytes >> 20), pct(second.stats.hits, lookups),
                pct(second.stats.disk_hits, lookups), pct(second.stats.hits + second.stats.disk_hits, lookups),
                double(second.stats.fetched_bytes) / (1 << 20), double(first.stats.fetched_bytes) / (1 << 20));
  }
}

void hit_speed(const Settings& s) {
  BlockCache cache(options(s, 256, CachePolicy::arc));
  const uint64_t size = 64ull << 20;
  std::vector<uint8_t> buf(4096);
  for (uint64_t at = 0; at < size; at += 4096) cache.read(7, size, at, buf.data(), 4096, fill);
  for (unsigned threads : {1u, 4u}) {
    std::atomic<uint64_t> total{0};
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        std::mt19937_64 rng(t);
        std::vector<uint8_t> mine(4096);
        uint64_t n = 0;
        while (std::chrono::steady_clock::now() - start < std::chrono::seconds(1)) {
          for (int i = 0; i < 1000; ++i, ++n) {
            cache.read(7, size, rng() % (size / 4096) * 4096, mine.data(), 4096, fill);
          }
        }
        total += n;
      });
    }
    for (auto& t : pool) t.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("| %u | %.0f |\n", threads, double(total) / secs);
  }
}

std::vector<uint64_t> parse_list(const char* text) {
  std::vector<uint64_t> out;
  for (const char* p = text; *p;) {
    out.push_back(std::strtoull(p, nullptr, 10));
    p = std::strchr(p, ',');
    if (!p) break;
    ++p;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    const char* v = argv[i + 1];
    if (opt == "--hot-mib") s.hot_mib = std::strtoull(v, nullptr, 10);
    else if (opt == "--hot-files") s.hot_files = unsigned(std::strtoul(v, nullptr, 10));
    else if (opt == "--scan-mib") s.scan_mib = std::strtoull(v, nullptr, 10);
    else if (opt == "--block-kib") s.block_kib = uint32_t(std::strtoul(v, nullptr, 10));
    else if (opt == "--memory-mib") s.memory_mib = parse_list(v);
    else if (opt == "--hot-reads") {
      s.hot_reads.clear();
      for (uint64_t n : parse_list(v)) s.hot_reads.push_back(unsigned(n));
    } else if (opt == "--dir") s.dir = v;
    else {
      std::fprintf(stderr, "cache_bench: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  std::printf("Hit rates: hot set %llu MiB in %u files, scan %llu MiB, block %u KiB, reads of %zu KiB\n\n",
              (unsigned long long)s.hot_mib, s.hot_files, (unsigned long long)s.scan_mib, s.block_kib, kRead >> 10);
  policy_table(s);
  if (!s.dir.empty()) {
    std::printf("\nSecond boot from the disk tier (a new cache on the folder the first run filled; no scan; "
                "memory hits are the later 128 KiB reads of a 1 MiB block first served by the disk)\n\n");
    std::printf("| policy | memory MiB | disk tier MiB | memory hit %% | disk hit %% | local %% | fetched MiB | "
                "fetched MiB by the first boot |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
    disk_tier(s);
  }
  std::printf("\nMemory hits per second (4 KiB reads of a 64 MiB file held in memory, ARC)\n\n");
  std::printf("| threads | lookups/s |\n|---:|---:|\n");
  hit_speed(s);
  return 0;
}
