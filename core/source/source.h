#pragma once
// A source is where file data lives: a local directory or a tar archive;
// a tar chain, NFS and SMB shares later. It scans into a Tree once, then
// serves byte ranges of the files it scanned, from many threads at once.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/image/file_reader.h"
#include "core/image/status.h"
#include "core/source/tree.h"

namespace vdiskfs {

// How a share is reached and cached (issue #16); unused for local sources.
struct RemoteOptions {
  std::string credentials;      // --credentials FILE ("" = the environment, else guest)
  int timeout_ms = 30000;       // each remote call; a reader gets EIO after it
  size_t connections = 4;       // connections in the pool: reads in flight at once
  uint64_t cache_bytes = 256ull << 20;  // the memory tier of the block cache, bytes
  std::string cache_dir;        // the disk tier's folder ("" = none)
  uint64_t cache_dir_bytes = 0; // the disk tier's bound, bytes
  std::string cache_policy = "arc";  // "lru" or "arc"
  unsigned readahead_blocks = 4;     // cache blocks fetched ahead of a sequential reader
};

struct ScanOptions {
  bool strict = false;           // an unreadable entry fails the scan
  bool one_file_system = false;  // do not descend into other mounts
  size_t open_files = 1024;      // descriptors kept open for reads
  bool xattrs = true;            // read extended attributes
  RemoteOptions remote;          // shares only
  // Compressed archives: the most output (bytes) allowed between two
  // restart points; beyond it the mount is refused (or, with
  // remote.cache_dir, the stream is decompressed once into a copy there).
  uint64_t restart_limit = 64ull << 20;
  // Tar archives: the folder of their kept indexes (tar_index.h); empty:
  // none kept or used.
  std::string index_dir;
  // Chains of incremental archives: the archive (1-based) whose point in
  // time the tree shows; 0: the last.
  uint32_t chain_at = 0;
  // Called now and then during the scan with the entries seen so far.
  std::function<void(uint64_t)> progress;
  // Called now and then while the first pass decodes a compressed archive:
  // bytes of the compressed file consumed so far, and its size (done ==
  // total once, at the end).
  std::function<void(uint64_t done, uint64_t total)> read_progress;
};

struct ScanReport {
  std::vector<std::string> skipped;  // "path: reason"
  // Directories on other filesystems kept empty (one_file_system), by path.
  std::vector<std::string> not_descended;
};

// A backup's point in time: one archive of a chain of incrementals
// (core/source/tar/tar_chain.h), with the entries (files, directories,
// links) it added, changed and removed against the state before it.
struct PointInTime {
  std::string archive;  // path
  Timestamp time;       // the archive file's mtime: when the backup was written
  bool shown = false;   // the tree is as of this point (--at)
  uint64_t entries = 0, added = 0, changed = 0, removed = 0, renamed = 0;  // renamed: directories
};

class Source : public FileReader {
 public:
  virtual ~Source() = default;
  // What the user named, for messages ("directory /srv/backup").
  virtual std::string describe() const = 0;
  // The tree scanned when the source was opened.
  virtual const Tree& tree() const = 0;
  // Reads [offset, offset + len) of the regular file `node`. The range lies
  // inside the scanned size. A file that changed since the scan gives
  // Status::source_changed and a log line naming it; never other bytes.
  Status read_file(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const override = 0;
  // The regular files in the order their data is best read (a tar: archive
  // order), for filesystems to lay data out in; empty = tree order.
  virtual void data_order(std::vector<uint32_t>& files) const { files.clear(); }
  // Counters of the source's reads for `vdiskfs stats` (a share's block
  // cache: hits, misses, bytes, evictions), as (name, number) pairs in a
  // stable order; none for a local source.
  virtual std::vector<std::pair<std::string, uint64_t>> stats() const { return {}; }
  // A chain's archives, in order; empty for every other source.
  virtual std::vector<PointInTime> points_in_time() const { return {}; }
};

}  // namespace vdiskfs
