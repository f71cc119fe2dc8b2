#pragma once
// Reads files of a share: through a pool of connections (reads in flight
// at once) and a block cache (memory, optionally a folder on local disk),
// with read-ahead for sequential readers. Shared by the share's own tree
// (RemoteSource) and by an archive on a share (RemoteArchiveFile).
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/source/block_cache.h"
#include "core/source/remote/connection_pool.h"
#include "core/source/source.h"

namespace vdiskfs {

// One file a reader reads: its path on the share, size and cache key.
struct RemoteFile {
  std::string path;  // relative to the share's root as the URL names it
  uint64_t size = 0;  // bytes, as scanned
  uint64_t key = 0;   // the cache key: stable for the same path, size, mtime and fileid
};

// The cache key of a file of share `share` (its description).
uint64_t remote_file_key(const std::string& share, const std::string& path, const RemoteStat& st);

class RemoteReader {
 public:
  // `share` must outlive the reader. Throws Error for cache options that
  // cannot be used (naming the option or folder).
  RemoteReader(const RemoteShare& share, const RemoteOptions& options);
  ~RemoteReader();

  ConnectionPool& pool() const { return pool_; }

  // Reads [offset, offset + len) of `file` through the cache; `stream`
  // tells readers apart for read-ahead (a file's node). Status::io_error
  // after a log line naming the URL, path and offset when the share fails
  // or stops answering within the timeout.
  Status read(uint32_t stream, const RemoteFile& file, uint64_t offset, uint8_t* buf, size_t len) const;

  // The cache's counters and the reader's own.
  std::vector<std::pair<std::string, uint64_t>> stats() const;

 private:
  Status fetch(const RemoteFile& file, uint64_t offset, uint8_t* buf, size_t len) const;
  void read_ahead(uint32_t stream, const RemoteFile& file, uint64_t offset, size_t len) const;
  void read_ahead_worker() const;
  void start_workers() const;

  const RemoteShare& share_;
  mutable ConnectionPool pool_;
  mutable BlockCache cache_;
  const unsigned readahead_blocks_;
  mutable std::atomic<uint64_t> remote_reads_{0}, remote_errors_{0}, ahead_blocks_{0};

  // Read-ahead: per stream, the block after its last read, +1; a queue of
  // blocks to fetch in the background.
  mutable std::mutex ahead_mutex_;
  mutable std::condition_variable ahead_cv_;
  mutable std::deque<std::pair<RemoteFile, uint64_t>> ahead_queue_;
  mutable std::unordered_map<uint32_t, uint64_t> next_block_;
  mutable bool stopping_ = false;
  // Started at the first read, not before: the mount moves to the
  // background (fork) after the scan, and threads do not survive a fork.
  mutable std::once_flag started_;
  mutable std::vector<std::thread> ahead_threads_;
};

}  // namespace vdiskfs
