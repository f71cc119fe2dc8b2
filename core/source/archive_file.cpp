#include "core/source/archive_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/image/error.h"
#include "core/image/io.h"
#include "core/image/log.h"

namespace vdiskfs {
namespace {

Timestamp mtime_of(const struct stat& st) { return {int64_t(st.st_mtim.tv_sec), uint32_t(st.st_mtim.tv_nsec)}; }

// A local archive file read with pread.
class LocalArchiveFile final : public ArchiveFile {
 public:
  LocalArchiveFile(std::string path, std::string kind, int fd, const struct stat& st)
      : path_(std::move(path)), kind_(std::move(kind)), fd_(fd), size_(uint64_t(st.st_size)), mtime_(mtime_of(st)) {}
  ~LocalArchiveFile() override { close(fd_); }

  std::string describe() const override { return path_; }
  uint64_t size() const override { return size_; }
  Timestamp mtime() const override { return mtime_; }

  Status read(uint64_t offset, uint8_t* buf, size_t len) const override {
    const IoResult r = pread_full(fd_, buf, len, offset);
    if (r.end == IoEnd::stopped) return unchanged() ? Status::io_error : Status::source_changed;
    if (r.end == IoEnd::failed) {
      log_error("reading {} {} at offset {}: {}", kind_, path_, offset + r.bytes, strerror(r.error));
      return Status::io_error;
    }
    return Status::ok;
  }

  bool unchanged() const override {
    struct stat st;
    if (fstat(fd_, &st) == 0 && uint64_t(st.st_size) == size_ && mtime_of(st) == mtime_) return true;
    std::call_once(change_logged_, [&] { log_error("{} {} changed since the mount; reads of its files answer EIO", kind_, path_); });
    return false;
  }

 private:
  std::string path_;
  std::string kind_;
  int fd_;
  uint64_t size_;
  Timestamp mtime_;
  mutable std::once_flag change_logged_;
};

}  // namespace

std::unique_ptr<ArchiveFile> open_local_archive(const std::string& path, const std::string& kind) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) fail("source {} does not exist", path);
    fail("cannot open {} {}: {}", kind, path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    fail("cannot stat {} {}: {}", kind, path, strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    fail("source {} is neither a directory nor a {} file", path, kind);
  }
  return std::make_unique<LocalArchiveFile>(path, kind, fd, st);
}

}  // namespace vdiskfs
