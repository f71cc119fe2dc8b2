#include "core/source/directory/directory_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "core/image/error.h"
#include "core/image/io.h"
#include "core/image/log.h"
#include "core/source/tree_assembler.h"

namespace vdiskfs {
namespace {

Timestamp to_time(const statx_timestamp& t) { return {int64_t(t.tv_sec), t.tv_nsec}; }

// Opens one path component below dir_fd without following links; the
// fallback for kernels without openat2.
int open_component_walk(int root_fd, const std::string& relpath, int flags) {
  int dir = dup(root_fd);
  if (dir < 0) return -errno;
  size_t pos = 0;
  while (true) {
    const size_t slash = relpath.find('/', pos);
    const std::string part = relpath.substr(pos, slash == std::string::npos ? slash : slash - pos);
    if (part == ".." ) {
      close(dir);
      return -EXDEV;
    }
    const bool last = slash == std::string::npos;
    const int f = last ? flags : (O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const int next = openat(dir, part.c_str(), f | O_NOFOLLOW);
    const int err = errno;
    close(dir);
    if (next < 0) return -err;
    if (last) return next;
    dir = next;
    pos = slash + 1;
  }
}

}  // namespace

int open_beneath(int root_fd, const std::string& relpath, int flags) {
  const std::string path = relpath.empty() ? "." : relpath;
  open_how how{};
  how.flags = uint64_t(flags | O_NOFOLLOW | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = int(syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how));
  if (fd < 0 && errno == EPERM && (flags & O_NOATIME)) {  // not the owner: atime may move
    how.flags &= ~uint64_t(O_NOATIME);
    fd = int(syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof how));
  }
  if (fd >= 0) return fd;
  if (errno == ENOSYS) return open_component_walk(root_fd, path, (flags & ~O_NOATIME) | O_CLOEXEC);
  return -errno;
}

DirectorySource::DirectorySource(std::string root_path, int root_fd, size_t open_files)
    : root_path_(std::move(root_path)), root_fd_(root_fd), fds_(open_files) {}

DirectorySource::~DirectorySource() { close(root_fd_); }

std::unique_ptr<DirectorySource> DirectorySource::open(const std::string& path,
                                                       const ScanOptions& options,
                                                       ScanReport& report) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) fail("source {} does not exist", path);
    if (errno == ENOTDIR) fail("source {} is not a directory", path);
    fail("cannot open source directory {}: {}", path, strerror(errno));
  }
  std::unique_ptr<DirectorySource> src(new DirectorySource(path, fd, options.open_files));
  src->scan(options, report);
  return src;
}

namespace {

// Scan state shared by the walk: hard-link groups and the report.
struct ScanState {
  struct InodeKey {
    uint64_t dev, ino;
    bool operator==(const InodeKey& o) const { return dev == o.dev && ino == o.ino; }
  };
  struct InodeKeyHash {
    size_t operator()(const InodeKey& k) const { return k.ino * 0x9E3779B97F4A7C15ull ^ k.dev; }
  };
  std::unordered_map<InodeKey, uint32_t, InodeKeyHash> hard_links;
  uint64_t root_dev = 0;
};

Node node_from_statx(const struct statx& st) {
  Node n;
  n.mode = st.stx_mode;
  n.uid = st.stx_uid;
  n.gid = st.stx_gid;
  n.atime = to_time(st.stx_atime);
  n.mtime = to_time(st.stx_mtime);
  n.ctime = to_time(st.stx_ctime);
  n.btime = (st.stx_mask & STATX_BTIME) ? to_time(st.stx_btime) : Timestamp{};
  if (S_ISREG(n.mode)) n.size = st.stx_size;
  if (S_ISCHR(n.mode) || S_ISBLK(n.mode))
    n.aux = makedev(st.stx_rdev_major, st.stx_rdev_minor);
  return n;
}

// Lists the data ranges of a sparse file with SEEK_DATA / SEEK_HOLE.
bool list_data_segments(int fd, uint64_t size, std::vector<DataSegment>& out) {
  off_t pos = 0;
  while (uint64_t(pos) < size) {
    const off_t data = lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole remains
      return false;
    }
    off_t hole = lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return false;
    if (uint64_t(hole) > size) hole = off_t(size);
    if (hole > data) out.push_back({uint64_t(data), uint64_t(hole - data)});
    pos = hole;
  }
  return true;
}

// Reads the extended attributes of `name` (never following a symlink) into
// `out`, POSIX ACLs (system.posix_acl_*) among them, in the order listed.
// The working directory is the entry's directory (see scan; "." for the
// root): a one-component name cannot lead out of the source, and l*xattr do
// not follow it.
void read_xattrs(const std::string& name, std::vector<std::pair<std::string, std::string>>& out) {
  const std::string& at = name;
  ssize_t len = llistxattr(at.c_str(), nullptr, 0);
  if (len <= 0) return;
  std::string names(size_t(len), '\0');
  len = llistxattr(at.c_str(), names.data(), names.size());
  if (len <= 0) return;
  names.resize(size_t(len));
  for (size_t pos = 0; pos < names.size();) {
    std::string key = names.c_str() + pos;
    pos += key.size() + 1;
    ssize_t vlen = lgetxattr(at.c_str(), key.c_str(), nullptr, 0);
    if (vlen < 0) continue;
    std::string value(size_t(vlen), '\0');
    vlen = lgetxattr(at.c_str(), key.c_str(), value.data(), value.size());
    if (vlen < 0) continue;
    value.resize(size_t(vlen));
    out.emplace_back(std::move(key), std::move(value));
  }
}

// The names of a directory (without "." and ".."), in name order; false
// when the listing stopped on an error (errno says which).
bool list_sorted(DIR* d, std::vector<std::string>& names) {
  names.clear();
  errno = 0;
  while (dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  const bool complete = errno == 0;
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return name_before(a, b); });
  return complete;
}

// Fills what an entry needs beyond its stat: a symlink's target, or the
// data ranges of a sparse file. Returns "" or why the entry is skipped.
std::string read_link_or_holes(EntrySpec& spec, const struct statx& st, int dfd, const std::string& name) {
  if (S_ISLNK(st.stx_mode)) {
    std::string& target = spec.link_target;
    target.assign(size_t(st.stx_size) + 1, '\0');
    const ssize_t len = readlinkat(dfd, name.c_str(), target.data(), target.size());
    if (len < 0) return strerror(errno);
    if (size_t(len) >= target.size()) return "link target changed during scan";
    target.resize(size_t(len));
    return "";
  }
  if (!S_ISREG(st.stx_mode) || st.stx_blocks * 512 >= st.stx_size) return "";  // dense
  int fd = openat(dfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = openat(dfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);  // not the owner
  const bool listed = fd >= 0 && list_data_segments(fd, spec.attrs.size, spec.segments);
  const int err = errno;
  if (fd >= 0) close(fd);
  if (!listed) return std::string("cannot map holes: ") + strerror(err);
  spec.sparse = true;
  return "";
}

// Stats `name` in the directory `dfd` without following a symlink or
// triggering an automount; false with errno set on failure.
bool stat_entry(int dfd, const char* name, struct statx& st) {
  return statx(dfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_BASIC_STATS | STATX_BTIME, &st) == 0;
}

// Describes the entry `name` of `dfd`, stat'ed as `st`, in `spec`: its
// attributes, link target or holes, and (with `with_xattrs`: `dfd` is the
// working directory) its extended attributes and ACLs. The one path for
// every entry, the root included. Returns "" or why the entry is skipped.
std::string describe_entry(const struct statx& st, int dfd, const std::string& name, bool with_xattrs,
                           EntrySpec& spec) {
  spec.attrs = node_from_statx(st);
  spec.link_target.clear();
  spec.sparse = false;
  spec.segments.clear();
  spec.xattrs.clear();
  if (std::string why = read_link_or_holes(spec, st, dfd, name); !why.empty()) return why;
  if (with_xattrs) read_xattrs(name, spec.xattrs);
  return "";
}

}  // namespace

void DirectorySource::scan(const ScanOptions& options, ScanReport& report) {
  ScanState state;
  EntrySpec spec;  // reused for every entry
  // The scan changes the working directory to read xattrs; put it back.
  struct RestoreCwd {
    int fd = ::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    ~RestoreCwd() {
      if (fd >= 0) {
        if (fchdir(fd) != 0) chdir("/");
        close(fd);
      }
    }
  } restore_cwd;
  // Enters the directory at fd (PATH below the root) so that its entries'
  // xattrs read by name; one that cannot be entered keeps its entries
  // without xattrs, with a warning (under --strict the scan fails).
  auto enter_for_xattrs = [&](int fd, const std::string& path) {
    if (!options.xattrs) return false;
    if (fchdir(fd) == 0) return true;
    const std::string what = fmt::format("cannot enter {}/{} to read the extended attributes of its entries: {}",
                                         root_path_, path, strerror(errno));
    if (options.strict) fail("{} (without --strict they are left out)", what);
    log_warning("{}; they are left out", what);
    return false;
  };
  // The root is an entry like any other, "." of itself: read the same way
  // as each directory below it (stat, xattrs and ACLs).
  struct statx root_st;
  if (!stat_entry(root_fd_, ".", root_st)) fail("cannot stat source {}: {}", root_path_, strerror(errno));
  state.root_dev = makedev(root_st.stx_dev_major, root_st.stx_dev_minor);
  const bool in_root = enter_for_xattrs(root_fd_, ".");
  if (const std::string why = describe_entry(root_st, root_fd_, ".", in_root, spec); !why.empty())
    fail("cannot read source {}: {}", root_path_, why);
  // Numbers the nodes, orders the names and counts the links.
  TreeAssembler tree(spec, root_path_);

  auto skip = [&](const std::string& path, const std::string& reason) {
    report.skipped.push_back(path + ": " + reason);
    if (options.strict) fail("cannot read {}/{}: {} (without --strict it is skipped)", root_path_, path, reason);
  };
  auto progress = [&] {
    const size_t entries = tree.tree().dirents.size();
    if (options.progress && (entries & 0xffff) == 0) options.progress(entries);
  };

  std::vector<std::string> names;
  for (uint32_t dir_node = tree.next_directory(); dir_node != kNoIndex; dir_node = tree.next_directory()) {
    const std::string dir_path = tree.tree().relative_path(dir_node);
    const int dfd = open_beneath(root_fd_, dir_path, O_RDONLY | O_DIRECTORY | O_NOATIME);
    if (dfd < 0) {
      skip(dir_path, strerror(-dfd));
      continue;
    }
    // xattrs are read by name relative to this directory: chdir into it
    // (the scan runs before any other thread exists).
    const bool in_dir = enter_for_xattrs(dfd, dir_path);
    // Closed on every way out, a --strict skip() that throws included.
    const std::unique_ptr<DIR, int (*)(DIR*)> dir(fdopendir(dfd), closedir);
    if (!dir) {
      const int err = errno;
      close(dfd);
      skip(dir_path, std::string("listing failed: ") + strerror(err));
      continue;
    }
    if (!list_sorted(dir.get(), names)) skip(dir_path, std::string("listing failed: ") + strerror(errno));
    for (const std::string& name : names) {
      const std::string child_path = dir_path.empty() ? name : dir_path + "/" + name;
      struct statx st;
      if (!stat_entry(dfd, name.c_str(), st)) {
        skip(child_path, strerror(errno));
        continue;
      }
      const bool is_dir = S_ISDIR(st.stx_mode);
      const uint64_t dev = makedev(st.stx_dev_major, st.stx_dev_minor);
      // A directory on another filesystem (a mount point) is kept, empty,
      // with what its stat and xattrs show: the root of the filesystem
      // mounted there (its mode, owners, times), as GNU tar
      // --one-file-system and rsync -x record it; the directory beneath
      // the mount is hidden from every reader.
      const bool other_fs = is_dir && options.one_file_system && dev != state.root_dev;
      // A file of several names is one node, named by each.
      const bool linked = !is_dir && st.stx_nlink > 1;
      const ScanState::InodeKey inode{dev, st.stx_ino};
      if (auto it = linked ? state.hard_links.find(inode) : state.hard_links.end(); it != state.hard_links.end()) {
        tree.add_link(name, it->second);
      } else if (const std::string why = describe_entry(st, dfd, name, in_dir, spec); !why.empty()) {
        skip(child_path, why);
        continue;
      } else {
        const uint32_t node = tree.add_new(name, spec, !other_fs);
        if (linked) state.hard_links.emplace(inode, node);
        if (other_fs) report.not_descended.push_back(child_path);
      }
      progress();
    }
  }
  tree_ = tree.finish();
}

int DirectorySource::open_for_read(uint32_t node) const {
  return open_beneath(root_fd_, tree_.relative_path(node), O_RDONLY | O_NOATIME);
}

Status DirectorySource::report_changed(uint32_t node, const std::string& what) const {
  {
    std::lock_guard lock(reported_mutex_);
    if (!reported_.insert(node).second) return Status::source_changed;
  }
  log_error("source file {}/{} {} since the mount; its reads answer EIO", root_path_,
            tree_.relative_path(node), what);
  return Status::source_changed;
}

Status DirectorySource::read_file(uint32_t node, uint64_t offset, uint8_t* buf,
                                  size_t len) const {
  const Node& n = tree_.nodes[node];
  auto lease = fds_.acquire(node, [&] { return open_for_read(node); });
  if (lease.fd() < 0) {
    if (lease.error() == ENOENT) return report_changed(node, "vanished");
    return report_changed(node, std::string("cannot be opened (") + strerror(lease.error()) + ")");
  }
  struct stat st;
  if (fstat(lease.fd(), &st) != 0) return report_changed(node, "cannot be checked");
  if (st.st_nlink == 0) return report_changed(node, "was deleted");
  if (!S_ISREG(st.st_mode)) return report_changed(node, "is no longer a regular file");
  if (uint64_t(st.st_size) != n.size)
    return report_changed(node, fmt::format("changed size from {} to {}", n.size, st.st_size));
  if (Timestamp{int64_t(st.st_mtim.tv_sec), uint32_t(st.st_mtim.tv_nsec)} != n.mtime)
    return report_changed(node, "was modified (mtime changed)");
  const IoResult r = pread_full(lease.fd(), buf, len, offset);
  if (r.end == IoEnd::stopped) return report_changed(node, "shrank");
  if (r.end == IoEnd::failed) {
    log_error("reading source file {}/{} at offset {}: {}", root_path_, tree_.relative_path(node), offset + r.bytes,
              strerror(r.error));
    return Status::io_error;
  }
  return Status::ok;
}

}  // namespace vdiskfs
