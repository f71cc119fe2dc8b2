#include "core/source/remote/remote_reader.h"

#include <fmt/core.h>
#include <xxhash.h>

#include <algorithm>

#include "core/image/error.h"
#include "core/image/log.h"

namespace vdiskfs {
namespace {

BlockCacheOptions cache_options(const RemoteOptions& r) {
  BlockCacheOptions c;
  c.memory_bytes = r.cache_bytes;
  c.dir = r.cache_dir;
  c.dir_bytes = r.cache_dir_bytes;
  if (!parse_cache_policy(r.cache_policy, c.policy)) fail("--cache-policy {} is not lru or arc", r.cache_policy);
  return c;
}

// Blocks the read-ahead keeps queued at most, over all files, and its threads.
constexpr size_t kReadAheadQueue = 64;
constexpr size_t kReadAheadThreads = 2;

}  // namespace

uint64_t remote_file_key(const std::string& share, const std::string& path, const RemoteStat& st) {
  const std::string key =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", share, path, st.size, st.mtime.sec, st.mtime.nsec, st.fileid);
  return XXH3_64bits(key.data(), key.size());
}

RemoteReader::RemoteReader(const RemoteShare& share, const RemoteOptions& options)
    : share_(share),
      pool_(share, options.connections, options.timeout_ms),
      cache_(cache_options(options)),
      readahead_blocks_(options.readahead_blocks) {}

void RemoteReader::start_workers() const {
  std::lock_guard lock(ahead_mutex_);
  if (stopping_) return;
  for (size_t i = 0; i < kReadAheadThreads; ++i) ahead_threads_.emplace_back([this] { read_ahead_worker(); });
}

RemoteReader::~RemoteReader() {
  {
    std::lock_guard lock(ahead_mutex_);
    stopping_ = true;
  }
  ahead_cv_.notify_all();
  for (std::thread& t : ahead_threads_) t.join();
}

Status RemoteReader::fetch(const RemoteFile& file, uint64_t offset, uint8_t* buf, size_t len) const {
  RemoteError err;
  ++remote_reads_;
  if (pool_.with([&](RemoteConnection& c, RemoteError& e) { return c.pread(file.path, offset, buf, len, e); }, err))
    return Status::ok;
  ++remote_errors_;
  log_error("{}: {}", share_.describe(), err.message);
  {
    std::lock_guard lock(ahead_mutex_);  // a fault: nothing read ahead until the next sequential read
    ahead_queue_.clear();
  }
  return Status::io_error;
}

Status RemoteReader::read(uint32_t stream, const RemoteFile& file, uint64_t offset, uint8_t* buf, size_t len) const {
  const Status s = cache_.read(file.key, file.size, offset, buf, len,
                               [&](uint64_t off, uint8_t* b, size_t n) { return fetch(file, off, b, n); });
  if (ok(s) && len) read_ahead(stream, file, offset, len);
  return s;
}

void RemoteReader::read_ahead(uint32_t stream, const RemoteFile& file, uint64_t offset, size_t len) const {
  if (!readahead_blocks_) return;
  std::call_once(started_, [this] { start_workers(); });
  const uint64_t bs = cache_.block_bytes();
  const uint64_t first = offset / bs, last = (offset + len - 1) / bs;
  const uint64_t blocks = (file.size + bs - 1) / bs;
  std::lock_guard lock(ahead_mutex_);
  uint64_t& next = next_block_[stream];  // the block after the previous read, +1; 0: none
  const uint64_t expected = next;
  next = last + 2;
  // Sequential: this read starts in the block where the last one ended, or the next.
  if (expected == 0 || (first + 1 != expected && first + 2 != expected)) return;
  for (uint64_t b = last + 1; b <= last + readahead_blocks_ && b < blocks; ++b)
    if (ahead_queue_.size() < kReadAheadQueue && !cache_.holds(file.key, b)) ahead_queue_.emplace_back(file, b);
  ahead_cv_.notify_all();
}

void RemoteReader::read_ahead_worker() const {
  std::unique_lock lock(ahead_mutex_);
  while (true) {
    ahead_cv_.wait(lock, [&] { return stopping_ || !ahead_queue_.empty(); });
    if (stopping_) return;
    const auto entry = std::move(ahead_queue_.front());
    const auto& file = entry.first;
    const auto block = entry.second;
    ahead_queue_.pop_front();
    lock.unlock();
    if (ok(cache_.prefetch(file.key, file.size, block,
                           [&](uint64_t off, uint8_t* b, size_t n) { return fetch(file, off, b, n); })))
      ++ahead_blocks_;
    lock.lock();
  }
}

std::vector<std::pair<std::string, uint64_t>> RemoteReader::stats() const {
  auto rows = cache_stat_rows(cache_.stats());
  rows.emplace_back("readahead_blocks", ahead_blocks_.load());
  rows.emplace_back("remote_reads", remote_reads_.load());
  rows.emplace_back("remote_errors", remote_errors_.load());
  return rows;
}

}  // namespace vdiskfs
