#define FUSE_USE_VERSION 312
#include "fuse/fuse_ops.h"

#include <fuse.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>

#include "core/image/log.h"
#include "fuse/mount_point.h"

namespace vdiskfs {
namespace {

// One mount's state, which every operation reaches through
// fuse_get_context()->private_data: the files, the settings, and whether
// the readahead was raised yet.
struct Mount {
  const FileTable& files;
  const FuseSettings& settings;
  std::once_flag readahead_tuned;
};

Mount& mount() { return *static_cast<Mount*>(fuse_get_context()->private_data); }

const FileTable& table() { return mount().files; }

int errno_of(Status s) {
  switch (s) {
    case Status::ok: return 0;
    case Status::io_error:
    case Status::source_changed: return EIO;
    case Status::no_space: return ENOSPC;
    case Status::read_only: return EROFS;
  }
  return EIO;
}

timespec to_timespec(int64_t ns) {
  timespec t;
  t.tv_sec = ns / 1000000000;
  t.tv_nsec = ns % 1000000000;
  if (t.tv_nsec < 0) t.tv_nsec += 1000000000, --t.tv_sec;
  return t;
}

// "/name" -> index in the table, or -1.
int lookup(const char* path) {
  if (path[0] != '/' || std::strchr(path + 1, '/')) return -1;
  return table().find(path + 1);
}

void* op_init(fuse_conn_info* conn, fuse_config* cfg) {
  cfg->kernel_cache = 1;  // content never changes under a mount: keep pages
  cfg->entry_timeout = 3600;
  cfg->attr_timeout = 3600;
  cfg->negative_timeout = 3600;
  conn->max_readahead = 1 << 20;
  return fuse_get_context()->private_data;
}

int op_getattr(const char* path, struct stat* st, fuse_file_info*) {
  std::memset(st, 0, sizeof *st);
  st->st_uid = getuid();
  st->st_gid = getgid();
  if (std::strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    if (table().size()) st->st_mtim = st->st_ctim = st->st_atim = to_timespec(table().at(0).mtime_ns);
    return 0;
  }
  const int i = lookup(path);
  if (i < 0) return -ENOENT;
  const ExposedFile& f = table().at(size_t(i));
  st->st_mode = S_IFREG | (f.writer ? 0644 : 0444);
  st->st_nlink = 1;
  st->st_size = off_t(f.image->size());
  st->st_blocks = blkcnt_t((f.allocated_bytes + 511) / 512);
  st->st_blksize = 1 << 16;
  st->st_mtim = st->st_ctim = st->st_atim = to_timespec(f.mtime_ns);
  return 0;
}

int op_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info*,
               fuse_readdir_flags) {
  if (std::strcmp(path, "/") != 0) return -ENOTDIR;
  fill(buf, ".", nullptr, 0, fuse_fill_dir_flags(0));
  fill(buf, "..", nullptr, 0, fuse_fill_dir_flags(0));
  for (size_t i = 0; i < table().size(); ++i)
    fill(buf, table().at(i).name.c_str(), nullptr, 0, fuse_fill_dir_flags(0));
  return 0;
}

// Raises the mount's readahead once, at the first open: by then the kernel
// has applied FUSE's INIT reply (which would cap it again), and the opening
// file picks the new value up right after our reply.
void tune_readahead_once(Mount& m) {
  std::call_once(m.readahead_tuned, [&m] {
    const FuseSettings& s = m.settings;
    if (s.readahead_kib && !set_mount_readahead(s.mount_point, s.readahead_kib))
      log_debug("could not set readahead of {} (needs root and sysfs)", s.mount_point);
  });
}

int op_open(const char* path, fuse_file_info* fi) {
  const int i = lookup(path);
  if (i < 0) return -ENOENT;
  if ((fi->flags & O_ACCMODE) != O_RDONLY && !table().at(size_t(i)).writer) return -EROFS;
  tune_readahead_once(mount());
  fi->fh = uint64_t(i);
  fi->keep_cache = 1;
  // direct_io skips the kernel's page cache: one copy less for streaming
  // readers, but no caching between readers and no mmap.
  if (mount().settings.direct_io) fi->direct_io = 1;
  if (const auto& tap = table().at(size_t(i)).tap) tap->opened();
  return 0;
}

int op_release(const char*, fuse_file_info* fi) {
  if (const auto& tap = table().at(fi->fh).tap) tap->released();
  return 0;
}

// Tells a file's tap that a guest read is in flight, for its lifetime.
class ReadInFlight {
 public:
  ReadInFlight(FileTap* tap, uint64_t offset, size_t len) : tap_(tap) {
    if (tap_) tap_->read_started(offset, len);
  }
  ~ReadInFlight() {
    if (tap_) tap_->read_finished();
  }
  ReadInFlight(const ReadInFlight&) = delete;
  ReadInFlight& operator=(const ReadInFlight&) = delete;

 private:
  FileTap* tap_;
};

int op_read(const char*, char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  const ExposedFile& f = table().at(fi->fh);
  const Image& image = *f.image;
  if (offset < 0) return -EINVAL;
  const ReadInFlight in_flight(f.tap.get(), uint64_t(offset), size);
  // Up to `size` bytes, stopping at the end of the file.
  size_t n = 0;
  const Status s = image.read_upto(uint64_t(offset), reinterpret_cast<uint8_t*>(buf), size, &n);
  return ok(s) ? int(n) : -errno_of(s);
}

int op_write(const char*, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  const ExposedFile& f = table().at(fi->fh);
  if (!f.writer) return -EROFS;
  if (offset < 0) return -EINVAL;
  const Status s = f.writer->write(uint64_t(offset), reinterpret_cast<const uint8_t*>(buf), size);
  if (!ok(s)) return -errno_of(s);
  if (f.tap) f.tap->written(uint64_t(offset), reinterpret_cast<const uint8_t*>(buf), size);
  return int(size);
}

// SEEK_DATA and SEEK_HOLE from the file's data map; other whences are the
// kernel's own business and never reach here.
off_t op_lseek(const char*, off_t off, int whence, fuse_file_info* fi) {
  if (off < 0) return -ENXIO;
  if (whence != SEEK_DATA && whence != SEEK_HOLE) return -EINVAL;
  const std::optional<uint64_t> at = table().at(fi->fh).seek(uint64_t(off), whence == SEEK_DATA);
  return at ? off_t(*at) : -ENXIO;
}

int op_truncate(const char* path, off_t size, fuse_file_info* fi) {
  const int i = fi ? int(fi->fh) : lookup(path);
  if (i < 0) return -ENOENT;
  const ExposedFile& f = table().at(size_t(i));
  if (!f.writer) return -EROFS;
  if (size < 0) return -EINVAL;
  const Status s = f.writer->truncate(uint64_t(size));
  if (ok(s) && f.tap) f.tap->resized(uint64_t(size));
  return -errno_of(s);
}

int op_fsync(const char*, int, fuse_file_info* fi) {
  const ExposedFile& f = table().at(fi->fh);
  return f.writer ? -errno_of(f.writer->sync()) : 0;
}

// Times and modes of the exposed files are the disk's: accept and ignore
// (so `touch` works), as they are not part of the disk's content.
int op_utimens(const char* path, const timespec*, fuse_file_info*) {
  const bool known = std::strcmp(path, "/") == 0 || lookup(path) >= 0;
  return known ? 0 : -ENOENT;
}

// What the mount holds, as df shows it:
//   f_bsize, f_frsize  4096: the unit of the block counts below
//   f_blocks           the bytes the exposed files really hold (each base
//                      container's allocated bytes plus the pages written to
//                      its delta), in blocks, rounded up
//   f_bfree, f_bavail  0: there is no room for new files (a delta grows on
//                      the filesystem of its own folder), so df shows it full
//   f_files            the exposed files
//   f_ffree, f_favail  0: no file can be created
//   f_namemax          255, the longest name a file could have
int op_statfs(const char*, struct statvfs* st) {
  std::memset(st, 0, sizeof *st);
  st->f_bsize = st->f_frsize = 4096;
  uint64_t held = 0;
  for (size_t i = 0; i < table().size(); ++i) held += table().at(i).held_bytes();
  st->f_blocks = (held + 4095) / 4096;
  st->f_files = table().size();
  st->f_namemax = 255;
  return 0;
}

// Copies an attribute's value out as getxattr(2) does: its size when
// `size` is 0, ERANGE when it does not fit.
int xattr_reply(const std::string& text, char* value, size_t size) {
  if (size == 0) return int(text.size());
  if (size < text.size()) return -ERANGE;
  std::memcpy(value, text.data(), text.size());
  return int(text.size());
}

// The attribute's value from `make`, or EIO (logged) when making it threw.
int xattr_made(const std::function<std::string()>& make, const char* what, char* value, size_t size) {
  try {
    return xattr_reply(make(), value, size);
  } catch (const std::exception& e) {
    log_error("making {} failed: {}", what, e.what());
    return -EIO;
  }
}

// The mount's counters on its root (kStatsXattr); each exposed file's
// restore status (kRestoreXattr).
int op_getxattr(const char* path, const char* name, char* value, size_t size) {
  const FuseSettings& s = mount().settings;
  if (std::strcmp(path, "/") == 0) {
    if (!s.stats || std::strcmp(name, kStatsXattr) != 0) return -ENODATA;
    return xattr_made(s.stats, "the mount's counters", value, size);
  }
  const int i = lookup(path);
  if (i < 0) return -ENOENT;
  if (!s.restore_status || std::strcmp(name, kRestoreXattr) != 0) return -ENODATA;
  return xattr_made([&] { return s.restore_status(size_t(i)); }, "a restore status", value, size);
}

// A restore request (JSON) to an exposed file's kRestoreXattr.
int op_setxattr(const char* path, const char* name, const char* value, size_t size, int) {
  const int i = lookup(path);
  if (i < 0) return std::strcmp(path, "/") == 0 ? -ENOTSUP : -ENOENT;
  const FuseSettings& s = mount().settings;
  if (!s.restore_request || std::strcmp(name, kRestoreXattr) != 0) return -ENOTSUP;
  try {
    const std::string why = s.restore_request(size_t(i), std::string(value, size));
    if (why.empty()) return 0;
    log_warning("restore request for {} refused: {}", table().at(size_t(i)).name, why);
    return -EINVAL;
  } catch (const std::exception& e) {
    log_error("restore request for {} failed: {}", table().at(size_t(i)).name, e.what());
    return -EIO;
  }
}

int op_listxattr(const char* path, char* list, size_t size) {
  const FuseSettings& s = mount().settings;
  const bool root = std::strcmp(path, "/") == 0;
  if (!root && lookup(path) < 0) return -ENOENT;
  const char* name = root ? (s.stats ? kStatsXattr : nullptr) : (s.restore_status ? kRestoreXattr : nullptr);
  return name ? xattr_reply(std::string(name, std::strlen(name) + 1), list, size) : 0;
}

}  // namespace

int serve_fuse(const FileTable& files, const FuseSettings& settings) {
  fuse_operations ops{};
  ops.init = op_init;
  ops.getattr = op_getattr;
  ops.readdir = op_readdir;
  ops.open = op_open;
  ops.release = op_release;
  ops.read = op_read;
  ops.write = op_write;
  ops.truncate = op_truncate;
  ops.lseek = op_lseek;
  ops.fsync = op_fsync;
  ops.utimens = op_utimens;
  ops.statfs = op_statfs;
  ops.getxattr = op_getxattr;
  ops.setxattr = op_setxattr;
  ops.listxattr = op_listxattr;
  Mount mount{files, settings, {}};

  std::string options = "fsname=" + settings.fs_name + ",subtype=vdiskfs,default_permissions";
  if (settings.read_only) options += ",ro";
  for (const std::string& o : settings.extra_options) options += "," + o;
  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  fuse_opt_add_arg(&args, "vdiskfs");
  fuse_opt_add_arg(&args, "-o");
  fuse_opt_add_arg(&args, options.c_str());
  fuse* f = fuse_new(&args, &ops, sizeof ops, &mount);
  fuse_opt_free_args(&args);
  if (!f) {
    log_error("cannot set up FUSE with options '{}'", options);
    return 1;
  }
  if (fuse_mount(f, settings.mount_point.c_str()) != 0) {
    log_error("cannot mount on {} (is /dev/fuse available and fusermount3 installed?)", settings.mount_point);
    fuse_destroy(f);
    return 1;
  }
  int rc = 1;
  if (fuse_daemonize(settings.foreground ? 1 : 0) == 0 &&
      fuse_set_signal_handlers(fuse_get_session(f)) == 0) {
    fuse_loop_config* loop = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(loop, settings.max_threads);
    fuse_loop_cfg_set_idle_threads(loop, 4);
    rc = fuse_loop_mt(f, loop) == 0 ? 0 : 1;
    fuse_loop_cfg_destroy(loop);
    fuse_remove_signal_handlers(fuse_get_session(f));
  }
  fuse_unmount(f);
  fuse_destroy(f);
  return rc;
}

}  // namespace vdiskfs
