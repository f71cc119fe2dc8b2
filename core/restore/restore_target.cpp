#include "core/restore/restore_target.h"

#include <fcntl.h>
#include <libnbd.h>
#include <linux/fs.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/core.h>
#include <vector>

#include "core/image/error.h"
#include "core/image/io.h"

extern char** environ;

namespace vdiskfs {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// What to say after an errno: the target is full, or the error itself.
std::string errno_advice(int err) {
  if (err == ENOSPC || err == EDQUOT)
    return " (the target is full: make room or choose a larger target, then run 'vdiskfs restore start' again to "
           "resume)";
  return "";
}

bool io_failed(const std::string& target, const char* what, uint64_t offset, const IoResult& r, TargetError* why) {
  const int err = r.end == IoEnd::failed ? r.error : ENOSPC;
  why->error = err;
  why->message = fmt::format("{} {} at offset {}: {}{}", what, target, offset, strerror(err), errno_advice(err));
  return false;
}

// A raw file or a block device, through pread/pwrite.
class FileTarget final : public RestoreTarget {
 public:
  FileTarget(std::string path, int fd, uint64_t size, bool block, bool fresh)
      : path_(std::move(path)), fd_(fd), size_(size), block_(block), fresh_(fresh) {}
  ~FileTarget() override { close(fd_); }

  bool write(uint64_t offset, const uint8_t* buf, size_t len, TargetError* why) override {
    const IoResult r = pwrite_full(fd_, buf, len, offset);
    return r.complete() || io_failed(path_, "writing", offset, r, why);
  }
  bool zero(uint64_t offset, uint64_t len, TargetError* why) override {
    if (block_) {
      uint64_t range[2] = {offset, len};
      if (ioctl(fd_, BLKZEROOUT, range) == 0) return true;
    } else if (fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(offset), off_t(len)) == 0) {
      return true;
    }
    // No hole punching or zeroing here: write the zeros.
    const std::vector<uint8_t> zeros(std::min<uint64_t>(len, 1 << 20), 0);
    for (uint64_t done = 0; done < len;) {
      const size_t n = size_t(std::min<uint64_t>(zeros.size(), len - done));
      if (!write(offset + done, zeros.data(), n, why)) return false;
      done += n;
    }
    return true;
  }
  bool read(uint64_t offset, uint8_t* buf, size_t len, TargetError* why) override {
    const IoResult r = pread_full(fd_, buf, len, offset);
    if (r.complete()) return true;
    if (r.end == IoEnd::stopped) {  // a file shorter than the disk reads as zeros past its end
      std::memset(buf + r.bytes, 0, len - r.bytes);
      return true;
    }
    return io_failed(path_, "reading", offset, r, why);
  }
  bool flush(TargetError* why) override {
    if (fdatasync(fd_) == 0) return true;
    why->error = errno;
    why->message = fmt::format("flushing {}: {}{}", path_, strerror(errno), errno_advice(errno));
    return false;
  }
  bool starts_zeroed() const override { return fresh_; }
  uint64_t size() const override { return size_; }
  bool can_grow() const override { return !block_; }
  bool resize(uint64_t size, TargetError* why) override {
    if (block_ || size <= size_) return size <= size_;
    if (ftruncate(fd_, off_t(size)) != 0) return io_failed(path_, "growing", size, IoResult{IoEnd::failed, 0, errno}, why);
    size_ = size;
    return true;
  }
  std::string qemu_drive(const std::string& format) const override {
    return fmt::format("-drive file={},format={}", path_, format);
  }
  std::string libvirt_disk_xml(const std::string& format) const override {
    return block_ ? fmt::format("<disk type='block' device='disk'>\n  <driver name='qemu' type='{}'/>\n"
                                "  <source dev='{}'/>\n  <target dev='vda' bus='virtio'/>\n</disk>",
                                format, path_)
                  : fmt::format("<disk type='file' device='disk'>\n  <driver name='qemu' type='{}'/>\n"
                                "  <source file='{}'/>\n  <target dev='vda' bus='virtio'/>\n</disk>",
                                format, path_);
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
  bool block_;
  bool fresh_;
};

// Runs `argv` and waits; throws Error when it cannot be run or fails.
void run_tool(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  if (const int e = posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ); e != 0)
    fail("cannot run {}: {} (install the package qemu-utils)", argv[0], strerror(e));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fail("{} {} failed (see its message above)", argv[0], argv[1]);
}

// An NBD export through libnbd: a server's (nbd:// URI) or qemu-nbd's over
// a qcow2 file, started by libnbd with systemd socket activation.
class NbdTarget final : public RestoreTarget {
 public:
  NbdTarget(std::string spec, bool qcow2, bool fresh) : spec_(std::move(spec)), qcow2_(qcow2), fresh_(fresh) {
    h_ = nbd_create();
    if (!h_) fail("cannot make an NBD handle: {}", nbd_get_error());
  }
  ~NbdTarget() override {
    if (h_) {
      nbd_shutdown(h_, 0);
      nbd_close(h_);
    }
  }
  void connect() {
    int rc;
    if (qcow2_) {
      std::vector<char*> argv = {const_cast<char*>("qemu-nbd"), const_cast<char*>("-f"), const_cast<char*>("qcow2"),
                                 const_cast<char*>("--cache=writeback"), const_cast<char*>(spec_.c_str()), nullptr};
      rc = nbd_connect_systemd_socket_activation(h_, argv.data());
    } else {
      rc = nbd_connect_uri(h_, spec_.c_str());
    }
    if (rc != 0)
      fail("cannot connect to {}: {}{}", spec_, nbd_get_error(),
           qcow2_ ? " (qemu-nbd of the package qemu-utils serves a qcow2 target)" : "");
    if (nbd_is_read_only(h_) == 1) fail("restore target {} is read-only", spec_);
    const int64_t size = nbd_get_size(h_);
    if (size < 0) fail("cannot get the size of {}: {}", spec_, nbd_get_error());
    size_ = uint64_t(size);
  }

  bool write(uint64_t offset, const uint8_t* buf, size_t len, TargetError* why) override {
    return nbd_pwrite(h_, buf, len, offset, 0) == 0 || failed("writing", offset, why);
  }
  bool zero(uint64_t offset, uint64_t len, TargetError* why) override {
    constexpr uint64_t kPiece = 1ull << 30;  // NBD requests carry 32-bit lengths
    for (uint64_t done = 0; done < len; done += kPiece)
      if (nbd_zero(h_, std::min(kPiece, len - done), offset + done, 0) != 0) return failed("zeroing", offset + done, why);
    return true;
  }
  bool read(uint64_t offset, uint8_t* buf, size_t len, TargetError* why) override {
    return nbd_pread(h_, buf, len, offset, 0) == 0 || failed("reading", offset, why);
  }
  bool flush(TargetError* why) override {
    if (nbd_can_flush(h_) != 1) return true;
    return nbd_flush(h_, 0) == 0 || failed("flushing", 0, why);
  }
  bool starts_zeroed() const override { return fresh_; }
  uint64_t size() const override { return size_; }
  std::string qemu_drive(const std::string&) const override {
    return fmt::format("-drive file={},format={}", spec_, qcow2_ ? "qcow2" : "raw");
  }
  std::string libvirt_disk_xml(const std::string&) const override {
    if (qcow2_)
      return fmt::format("<disk type='file' device='disk'>\n  <driver name='qemu' type='qcow2'/>\n"
                         "  <source file='{}'/>\n  <target dev='vda' bus='virtio'/>\n</disk>",
                         spec_);
    // nbd://HOST[:PORT][/EXPORT]
    std::string rest = spec_.substr(spec_.find("://") + 3), host = rest, port = "10809", name;
    if (const size_t slash = rest.find('/'); slash != std::string::npos)
      host = rest.substr(0, slash), name = rest.substr(slash + 1);
    if (const size_t colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos)
      port = host.substr(colon + 1), host = host.substr(0, colon);
    return fmt::format("<disk type='network' device='disk'>\n  <driver name='qemu' type='raw'/>\n"
                       "  <source protocol='nbd' name='{}'>\n    <host name='{}' port='{}'/>\n  </source>\n"
                       "  <target dev='vda' bus='virtio'/>\n</disk>",
                       name, host, port);
  }

 private:
  bool failed(const char* what, uint64_t offset, TargetError* why) {
    why->error = nbd_get_errno();
    why->message = fmt::format("{} {} at offset {}: {}{}", what, spec_, offset, nbd_get_error(),
                               errno_advice(why->error));
    return false;
  }

  std::string spec_;
  bool qcow2_;
  bool fresh_;
  nbd_handle* h_ = nullptr;
  uint64_t size_ = 0;
};

[[noreturn]] void refuse_existing(const std::string& spec) {
  fail("restore target {} exists; a restore never writes over a file it did not start: remove it or choose another "
       "name (a stopped restore onto it resumes with the same 'vdiskfs restore start')",
       spec);
}

std::unique_ptr<RestoreTarget> open_file(const std::string& spec, uint64_t disk_bytes, bool reuse) {
  struct stat st;
  const bool exists = stat(spec.c_str(), &st) == 0;
  if (exists && S_ISBLK(st.st_mode)) {
    const int fd = open(spec.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) fail("cannot open block device {}: {}", spec, strerror(errno));
    uint64_t size = 0;
    if (ioctl(fd, BLKGETSIZE64, &size) != 0) size = 0;
    if (size < disk_bytes) {
      close(fd);
      fail("block device {} holds {} bytes, less than the disk's {}: choose a larger one", spec, size, disk_bytes);
    }
    return std::make_unique<FileTarget>(spec, fd, size, true, false);
  }
  if (exists && !S_ISREG(st.st_mode)) fail("restore target {} is neither a file nor a block device", spec);
  if (exists && !reuse) refuse_existing(spec);
  const int fd = open(spec.c_str(), O_RDWR | O_CLOEXEC | (exists ? 0 : O_CREAT | O_EXCL), 0644);
  if (fd < 0) fail("cannot {} {}: {}", exists ? "open" : "create", spec, strerror(errno));
  if (uint64_t(exists ? st.st_size : 0) < disk_bytes && ftruncate(fd, off_t(disk_bytes)) != 0) {
    const int err = errno;
    close(fd);
    if (!exists) unlink(spec.c_str());
    fail("cannot size {} to {} bytes: {}{}", spec, disk_bytes, strerror(err),
         err == EFBIG ? " (its filesystem cannot hold a file that large)" : "");
  }
  return std::make_unique<FileTarget>(spec, fd, disk_bytes, false, !exists);  // a new file reads as zeros
}

std::unique_ptr<RestoreTarget> open_nbd(const std::string& spec, uint64_t disk_bytes, bool reuse, bool qcow2) {
  bool fresh = false;
  if (qcow2) {
    struct stat st;
    if (stat(spec.c_str(), &st) == 0) {
      if (!reuse) refuse_existing(spec);
    } else {
      run_tool({"qemu-img", "create", "-q", "-f", "qcow2", spec, std::to_string(disk_bytes)});
      fresh = true;  // a new qcow2 file reads zeros where nothing was written
    }
  }
  auto target = std::make_unique<NbdTarget>(spec, qcow2, fresh);
  target->connect();
  if (target->size() < disk_bytes)
    fail("restore target {} holds {} bytes, less than the disk's {}: choose a larger one", spec, target->size(),
         disk_bytes);
  return target;
}

}  // namespace

TargetKind target_kind(const std::string& spec) {
  if (spec.rfind("nbd://", 0) == 0 || spec.rfind("nbds://", 0) == 0 || spec.rfind("nbd+unix://", 0) == 0)
    return TargetKind::nbd;
  if (ends_with(spec, ".qcow2")) return TargetKind::qcow2_file;
  struct stat st;
  if (stat(spec.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) return TargetKind::block_device;
  return TargetKind::raw_file;
}

std::unique_ptr<RestoreTarget> open_restore_target(const std::string& spec, uint64_t disk_bytes, bool reuse,
                                                   bool as_file) {
  if (as_file) return open_file(spec, disk_bytes, reuse);
  switch (target_kind(spec)) {
    case TargetKind::nbd: return open_nbd(spec, disk_bytes, reuse, false);
    case TargetKind::qcow2_file: return open_nbd(spec, disk_bytes, reuse, true);
    case TargetKind::raw_file:
    case TargetKind::block_device: break;
  }
  return open_file(spec, disk_bytes, reuse);
}

}  // namespace vdiskfs
