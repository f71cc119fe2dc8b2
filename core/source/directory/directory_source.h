#pragma once
// A local directory as a source. The scan never follows a symlink, and
// every open stays beneath the source root (openat2 RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS), so a link inside the source cannot lead out of it.
// Opens use O_NOATIME where allowed so that reading leaves atimes alone.
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/source/fd_cache.h"
#include "core/source/source.h"

namespace vdiskfs {

class DirectorySource final : public Source {
 public:
  // Scans `path`; throws Error for a missing or unreadable root, or for a
  // skipped entry when options.strict is set.
  static std::unique_ptr<DirectorySource> open(const std::string& path,
                                               const ScanOptions& options,
                                               ScanReport& report);
  ~DirectorySource() override;

  std::string describe() const override { return "directory " + root_path_; }
  const Tree& tree() const override { return tree_; }
  Status read_file(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const override;

 private:
  DirectorySource(std::string root_path, int root_fd, size_t open_files);
  void scan(const ScanOptions& options, ScanReport& report);
  int open_for_read(uint32_t node) const;
  Status report_changed(uint32_t node, const std::string& what) const;

  std::string root_path_;
  int root_fd_;
  Tree tree_;
  mutable FdCache fds_;
  mutable std::mutex reported_mutex_;
  mutable std::unordered_set<uint32_t> reported_;  // files already logged
};

// Opens `relpath` beneath the directory `root_fd` without following any
// symlink; returns an fd or -errno.
int open_beneath(int root_fd, const std::string& relpath, int flags);

}  // namespace vdiskfs
