#pragma once
// An archive file on a share (nfs://host/export/backups/web01.tar): its
// bytes read in place over the protocol, through the same pool and block
// cache as a share's tree. Whether it changed is asked of the server at
// most every kRecheckSeconds, not on every read.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "core/source/archive_file.h"
#include "core/source/remote/remote_reader.h"

namespace vdiskfs {

class RemoteArchiveFile final : public ArchiveFile {
 public:
  // Seconds between two checks of the file's size and mtime on the server.
  static constexpr int kRecheckSeconds = 2;

  // The file the URL of `share` names, with the attributes `st` it has now.
  // Throws Error for cache options that cannot be used.
  RemoteArchiveFile(std::unique_ptr<RemoteShare> share, const RemoteStat& st, const RemoteOptions& options);

  std::string describe() const override { return share_->describe(); }
  uint64_t size() const override { return file_.size; }
  Timestamp mtime() const override { return mtime_; }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override;
  bool unchanged() const override;
  std::vector<std::pair<std::string, uint64_t>> stats() const override { return reader_.stats(); }

 private:
  std::unique_ptr<RemoteShare> share_;
  RemoteReader reader_;
  RemoteFile file_;
  Timestamp mtime_;
  mutable std::mutex mutex_;
  mutable std::chrono::steady_clock::time_point checked_at_{};
  mutable bool changed_ = false;
};

}  // namespace vdiskfs
