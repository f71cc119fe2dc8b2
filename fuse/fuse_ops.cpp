#define FUSE_USE_VERSION 312
#include "fuse/fuse_ops.h"

#include <fuse.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <cstring>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/image/log.h"
#include "fuse/mount_point.h"

namespace vdiskfs {
namespace {

// An open exposed file (fuse_file_info::fh): its folder stays alive while
// it is open, even when the folder is dropped from the table.
struct OpenFile {
  std::shared_ptr<DiskFolder> folder;  // null in a flat mount
  const ExposedFile* file;
  size_t index;  // in its table
};

// The open files of a mount, owned by its serving loop: op_open adds,
// op_release takes back; what is still open when the loop ends (a signal
// with files open) is freed with the mount.
class OpenFiles {
 public:
  // Keeps `file`; returns it as fuse_file_info::fh.
  uint64_t add(std::unique_ptr<OpenFile> file) {
    OpenFile* raw = file.get();
    std::lock_guard lock(mutex_);
    files_.emplace(raw, std::move(file));
    return reinterpret_cast<uint64_t>(raw);
  }
  // Gives back the file of handle `fh` (null: not one of this mount's).
  std::unique_ptr<OpenFile> take(uint64_t fh) {
    std::lock_guard lock(mutex_);
    const auto it = files_.find(reinterpret_cast<OpenFile*>(fh));
    if (it == files_.end()) return nullptr;
    std::unique_ptr<OpenFile> out = std::move(it->second);
    files_.erase(it);
    return out;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<OpenFile*, std::unique_ptr<OpenFile>> files_;
};

// One mount's state, which every operation reaches through
// fuse_get_context()->private_data: the files (one flat table, or a table
// of folders), the settings, and whether the readahead was raised yet.
struct Mount {
  const FileTable* flat;  // a mount of one disk, else null
  DiskTable* disks;       // a mount of folders, else null
  const FuseSettings& settings;
  int64_t started_ns;  // the root's times when it holds folders
  std::once_flag readahead_tuned;
  OpenFiles open_files;
};

Mount& mount() { return *static_cast<Mount*>(fuse_get_context()->private_data); }

// What a path names: the root, a folder of a DiskTable, or an exposed file
// (in the flat table or in `folder`); nothing when none of these.
struct Found {
  bool root = false;
  std::shared_ptr<DiskFolder> folder;
  const FileTable* files = nullptr;  // the table holding the file
  int index = -1;                    // the file's index in `files`
  bool is_file() const { return index >= 0; }
  bool exists() const { return root || folder || is_file(); }
  const ExposedFile& file() const { return files->at(size_t(index)); }
};

OpenFile& handle(const fuse_file_info* fi) { return *reinterpret_cast<OpenFile*>(fi->fh); }

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

// "/name" (flat) or "/folder" and "/folder/name" (folders) -> what it names.
Found resolve(const char* path) {
  Found f;
  if (std::strcmp(path, "/") == 0) {
    f.root = true;
    return f;
  }
  if (path[0] != '/') return f;
  const char* name = path + 1;
  const char* slash = std::strchr(name, '/');
  const Mount& m = mount();
  if (m.flat) {
    if (slash) return f;
    f.files = m.flat;
    f.index = m.flat->find(name);
    return f;
  }
  std::shared_ptr<DiskFolder> folder = m.disks->find(slash ? std::string(name, slash) : std::string(name));
  if (!folder) return f;
  if (!slash) {
    f.folder = std::move(folder);
    return f;
  }
  if (std::strchr(slash + 1, '/')) return f;
  const int i = folder->files.find(slash + 1);
  if (i < 0) return f;
  f.files = &folder->files;
  f.index = i;
  f.folder = std::move(folder);
  return f;
}

// Calls `fn` on every exposed file of the mount.
template <typename Fn>
void for_each_file(Fn fn) {
  const Mount& m = mount();
  if (m.flat) {
    for (size_t i = 0; i < m.flat->size(); ++i) fn(m.flat->at(i));
    return;
  }
  for (const auto& folder : m.disks->folders())
    for (size_t i = 0; i < folder->files.size(); ++i) fn(folder->files.at(i));
}

void* op_init(fuse_conn_info* conn, fuse_config* cfg) {
  Mount& m = mount();
  if (m.flat) {
    cfg->kernel_cache = 1;  // content never changes under a mount: keep pages
    cfg->entry_timeout = 3600;
    cfg->attr_timeout = 3600;
    cfg->negative_timeout = 3600;
  } else {
    // Folders come and go: every lookup asks the daemon. A folder dropped
    // and put again may hold other content under the same names, so pages
    // are kept only while a file's size and mtime stay the same.
    cfg->auto_cache = 1;
    cfg->entry_timeout = 0;
    cfg->attr_timeout = 1;
    cfg->negative_timeout = 0;
  }
  conn->max_readahead = 1 << 20;
  if (m.settings.on_ready) m.settings.on_ready();
  return &m;
}

int op_getattr(const char* path, struct stat* st, fuse_file_info*) {
  std::memset(st, 0, sizeof *st);
  st->st_uid = getuid();
  st->st_gid = getgid();
  const Found found = resolve(path);
  if (found.root || (found.folder && !found.is_file())) {
    const Mount& m = mount();
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    const int64_t t = found.folder ? found.folder->mtime_ns
                      : m.flat     ? (m.flat->size() ? m.flat->at(0).mtime_ns : 0)
                                   : m.started_ns;
    st->st_mtim = st->st_ctim = st->st_atim = to_timespec(t);
    return 0;
  }
  if (!found.is_file()) return -ENOENT;
  const ExposedFile& f = found.file();
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
  const Found found = resolve(path);
  if (!found.exists()) return -ENOENT;
  if (found.is_file()) return -ENOTDIR;
  fill(buf, ".", nullptr, 0, fuse_fill_dir_flags(0));
  fill(buf, "..", nullptr, 0, fuse_fill_dir_flags(0));
  const Mount& m = mount();
  const FileTable* files = found.folder ? &found.folder->files : m.flat;
  if (files) {
    for (size_t i = 0; i < files->size(); ++i) fill(buf, files->at(i).name.c_str(), nullptr, 0, fuse_fill_dir_flags(0));
  } else {
    for (const auto& folder : m.disks->folders()) fill(buf, folder->name.c_str(), nullptr, 0, fuse_fill_dir_flags(0));
  }
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
  Found found = resolve(path);
  if (!found.exists()) return -ENOENT;
  if (!found.is_file()) return -EISDIR;
  const ExposedFile& f = found.file();
  if ((fi->flags & O_ACCMODE) != O_RDONLY && !f.writer) return -EROFS;
  Mount& m = mount();
  tune_readahead_once(m);
  if (m.flat) fi->keep_cache = 1;  // folders: auto_cache decides
  // direct_io skips the kernel's page cache: one copy less for streaming
  // readers, but no caching between readers and no mmap.
  if (m.settings.direct_io) fi->direct_io = 1;
  if (found.folder && m.settings.open_changed) m.settings.open_changed(found.folder->name, +1);
  if (f.tap) f.tap->opened();
  fi->fh = m.open_files.add(std::make_unique<OpenFile>(OpenFile{std::move(found.folder), &f, size_t(found.index)}));
  return 0;
}

int op_release(const char*, fuse_file_info* fi) {
  Mount& m = mount();
  const std::unique_ptr<OpenFile> open = m.open_files.take(fi->fh);
  if (!open) return 0;
  if (const auto& tap = open->file->tap) tap->released();
  if (open->folder && m.settings.open_changed) m.settings.open_changed(open->folder->name, -1);
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
  const ExposedFile& f = *handle(fi).file;
  const Image& image = *f.image;
  if (offset < 0) return -EINVAL;
  const ReadInFlight in_flight(f.tap.get(), uint64_t(offset), size);
  // Up to `size` bytes, stopping at the end of the file.
  size_t n = 0;
  const Status s = image.read_upto(uint64_t(offset), reinterpret_cast<uint8_t*>(buf), size, &n);
  return ok(s) ? int(n) : -errno_of(s);
}

int op_write(const char*, const char* buf, size_t size, off_t offset, fuse_file_info* fi) {
  const ExposedFile& f = *handle(fi).file;
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
  const std::optional<uint64_t> at = handle(fi).file->seek(uint64_t(off), whence == SEEK_DATA);
  return at ? off_t(*at) : -ENXIO;
}

int op_truncate(const char* path, off_t size, fuse_file_info* fi) {
  const Found found = fi ? Found{} : resolve(path);
  if (!fi && !found.is_file()) return found.exists() ? -EISDIR : -ENOENT;
  const ExposedFile& f = fi ? *handle(fi).file : found.file();
  if (!f.writer) return -EROFS;
  if (size < 0) return -EINVAL;
  const Status s = f.writer->truncate(uint64_t(size));
  if (ok(s) && f.tap) f.tap->resized(uint64_t(size));
  return -errno_of(s);
}

int op_fsync(const char*, int, fuse_file_info* fi) {
  const ExposedFile& f = *handle(fi).file;
  return f.writer ? -errno_of(f.writer->sync()) : 0;
}

// Times and modes of the exposed files are the disk's: accept and ignore
// (so `touch` works), as they are not part of the disk's content.
int op_utimens(const char* path, const timespec*, fuse_file_info*) {
  return resolve(path).exists() ? 0 : -ENOENT;
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
  uint64_t held = 0, files = 0;
  for_each_file([&](const ExposedFile& f) {
    held += f.held_bytes();
    ++files;
  });
  st->f_blocks = (held + 4095) / 4096;
  st->f_files = files;
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

// The restore callbacks of a flat mount (they take a file's index in its
// one table); null in a mount of folders.
const FuseSettings* restores() {
  const Mount& m = mount();
  return m.flat && m.settings.restore_status ? &m.settings : nullptr;
}

// The mount's counters on its root (kStatsXattr); each exposed file's
// restore status (kRestoreXattr).
int op_getxattr(const char* path, const char* name, char* value, size_t size) {
  const FuseSettings& s = mount().settings;
  if (std::strcmp(path, "/") == 0) {
    if (!s.stats || std::strcmp(name, kStatsXattr) != 0) return -ENODATA;
    return xattr_made(s.stats, "the mount's counters", value, size);
  }
  const Found found = resolve(path);
  if (!found.exists()) return -ENOENT;
  if (!found.is_file() || !restores() || std::strcmp(name, kRestoreXattr) != 0) return -ENODATA;
  const size_t i = size_t(found.index);
  return xattr_made([&] { return s.restore_status(i); }, "a restore status", value, size);
}

// A restore request (JSON) to an exposed file's kRestoreXattr.
int op_setxattr(const char* path, const char* name, const char* value, size_t size, int) {
  const Found found = resolve(path);
  if (!found.exists()) return -ENOENT;
  if (!found.is_file()) return -ENOTSUP;
  const FuseSettings& s = mount().settings;
  if (!restores() || !s.restore_request || std::strcmp(name, kRestoreXattr) != 0) return -ENOTSUP;
  const size_t i = size_t(found.index);
  try {
    const std::string why = s.restore_request(i, std::string(value, size));
    if (why.empty()) return 0;
    log_warning("restore request for {} refused: {}", found.file().name, why);
    return -EINVAL;
  } catch (const std::exception& e) {
    log_error("restore request for {} failed: {}", found.file().name, e.what());
    return -EIO;
  }
}

int op_listxattr(const char* path, char* list, size_t size) {
  const FuseSettings& s = mount().settings;
  const Found found = resolve(path);
  if (!found.exists()) return -ENOENT;
  const char* name = found.root       ? (s.stats ? kStatsXattr : nullptr)
                     : found.is_file() ? (restores() ? kRestoreXattr : nullptr)
                                       : nullptr;
  return name ? xattr_reply(std::string(name, std::strlen(name) + 1), list, size) : 0;
}

// Tells the kernel to forget the pages and attributes it holds for the
// files of `folder` and the folder itself (a folder of the same name may
// come with other content). Paths the kernel never looked up are skipped.
void forget_cached(fuse* f, const DiskFolder& folder) {
  const std::string dir = "/" + folder.name;
  for (size_t i = 0; i < folder.files.size(); ++i) fuse_invalidate_path(f, (dir + "/" + folder.files.at(i).name).c_str());
  fuse_invalidate_path(f, dir.c_str());
}

// Mounts `mount`, daemonizes unless foreground, and serves until unmounted.
int run_mount(Mount& mount) {
  const FuseSettings& settings = mount.settings;
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
  if (mount.disks) mount.disks->set_change_hook([f](const DiskFolder& folder) { forget_cached(f, folder); });
  if (fuse_mount(f, settings.mount_point.c_str()) != 0) {
    if (mount.disks) mount.disks->set_change_hook(nullptr);
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
    // 0: unmounted; above 0: the signal (SIGTERM, SIGINT, SIGHUP) that
    // ended the loop, after which the mount is undone below as cleanly;
    // below 0: an error.
    rc = fuse_loop_mt(f, loop) < 0 ? 1 : 0;
    fuse_loop_cfg_destroy(loop);
    fuse_remove_signal_handlers(fuse_get_session(f));
  }
  if (mount.disks) mount.disks->set_change_hook(nullptr);
  fuse_unmount(f);
  fuse_destroy(f);
  return rc;
}

}  // namespace

int serve_fuse(const FileTable& files, const FuseSettings& settings) {
  Mount mount{&files, nullptr, settings, 0, {}, {}};
  return run_mount(mount);
}

int serve_fuse(DiskTable& disks, const FuseSettings& settings) {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  Mount mount{nullptr, &disks, settings, now, {}, {}};
  return run_mount(mount);
}

}  // namespace vdiskfs
