#pragma once
// A share as a source (issue #16): the tree scanned over the protocol with
// several directory listings in flight, file data read on demand through a
// pool of connections and a block cache (memory, optionally a folder on
// local disk), with read-ahead for sequential readers. A file that changed
// on the server since the scan (size or mtime, asked again at most every
// kRecheckMs while it is read) gives Status::source_changed and one log
// line, as for local sources; a server that stops answering
// gives Status::io_error after the timeout, and the next read reconnects.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/source/remote/remote_reader.h"
#include "core/source/remote/remote_share.h"
#include "core/source/source.h"

namespace vdiskfs {

class RemoteSource final : public Source {
 public:
  // A file being read is asked for its size and mtime again after this long.
  static constexpr int64_t kRecheckMs = 2000;

  // Connects to `share` and scans it. Throws Error naming the URL when the
  // share cannot be reached or read (what connect() says), for a skipped
  // entry under options.strict, and for cache options that cannot be used.
  static std::unique_ptr<RemoteSource> open(std::unique_ptr<RemoteShare> share, const ScanOptions& options,
                                            ScanReport& report);

  std::string describe() const override { return share_->describe(); }
  const Tree& tree() const override { return tree_; }
  Status read_file(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const override;
  std::vector<std::pair<std::string, uint64_t>> stats() const override;

 private:
  RemoteSource(std::unique_ptr<RemoteShare> share, const ScanOptions& options);
  void scan(const ScanOptions& options, ScanReport& report);
  Status check_unchanged(uint32_t node) const;

  std::unique_ptr<RemoteShare> share_;
  RemoteReader reader_;
  Tree tree_;
  std::vector<RemoteFile> files_;  // per node: a regular file's path, size and cache key

  mutable std::mutex checked_mutex_;
  mutable std::vector<uint8_t> checked_;  // per node: 0 unchecked, 1 unchanged, 2 changed (logged)
  mutable std::vector<int64_t> checked_at_ms_;  // per node: when it was last found unchanged (steady clock)
  mutable std::atomic<uint64_t> changed_files_{0};
};

}  // namespace vdiskfs
