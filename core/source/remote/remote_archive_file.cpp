#include "core/source/remote/remote_archive_file.h"

#include <sys/stat.h>

#include "core/image/log.h"

namespace vdiskfs {

RemoteArchiveFile::RemoteArchiveFile(std::unique_ptr<RemoteShare> share, const RemoteStat& st,
                                     const RemoteOptions& options)
    : share_(std::move(share)), reader_(*share_, options), mtime_(st.mtime) {
  file_ = {"", st.size, remote_file_key(share_->describe(), "", st)};
}

Status RemoteArchiveFile::read(uint64_t offset, uint8_t* buf, size_t len) const {
  if (offset > file_.size || len > file_.size - offset) return unchanged() ? Status::io_error : Status::source_changed;
  return reader_.read(0, file_, offset, buf, len);
}

bool RemoteArchiveFile::unchanged() const {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  if (changed_ || now - checked_at_ < std::chrono::seconds(kRecheckSeconds)) return !changed_;
  RemoteStat st;
  RemoteError err;
  if (!reader_.pool().with([&](RemoteConnection& c, RemoteError& e) { return c.stat("", st, e); }, err))
    return true;  // the server did not answer: the read itself says so; not a change
  checked_at_ = now;
  changed_ = !S_ISREG(st.mode) || st.size != file_.size || st.mtime != mtime_;
  if (changed_) log_error("tar archive {} changed on the server since the mount; reads of its files answer EIO", describe());
  return !changed_;
}

}  // namespace vdiskfs
