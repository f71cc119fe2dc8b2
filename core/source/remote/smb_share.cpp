#include "core/source/remote/smb_share.h"

#include <libsmbclient.h>
#include <netdb.h>
#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <string_view>

#include "core/image/error.h"
#include "core/source/remote/smb_context.h"

namespace vdiskfs {
namespace {

// DOS attributes of a directory entry (MS-FSCC 2.6).
constexpr uint16_t kAttrReadOnly = 0x01;
constexpr uint16_t kAttrDirectory = 0x10;

// The documented defaults for what SMB does not carry.
constexpr uint32_t kDirectoryMode = S_IFDIR | 0755;
constexpr uint32_t kFileMode = S_IFREG | 0644;
constexpr uint32_t kReadOnlyFileMode = S_IFREG | 0444;

constexpr uint16_t kDefaultPort = 445;

// Bytes of a path as libsmbclient's URL parser takes them back: it
// percent-decodes paths, and '?' would start its options.
std::string percent_encoded(std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Errors that are the server's answer about one path: the connection
// stays usable. Anything else (timeouts, resets, refusals) drops it.
bool is_answer(int error) {
  switch (error) {
    case ENOENT: case ENOTDIR: case EISDIR: case EACCES: case EPERM:
    case ENAMETOOLONG: case ELOOP: case EINVAL: case ESTALE:
      return true;
    default:
      return false;
  }
}

// Errors of a transport that broke at once (a reset, not a timeout).
bool is_reset(int error) {
  return error == ECONNRESET || error == ECONNABORTED || error == EPIPE || error == ENOTCONN || error == EBADF;
}

// "30 s", "1.5 s": a timeout as messages give it.
std::string seconds(int ms) {
  return ms % 1000 ? fmt::format("{:.3g} s", ms / 1000.0) : fmt::format("{} s", ms / 1000);
}

std::string explain(int error, int timeout_ms) {
  if (error == ETIMEDOUT) return "timed out after " + seconds(timeout_ms);
  return std::strerror(error);
}

// Why `host` has no address ("" when it has one): libsmbclient says no more
// than EINVAL for a name it cannot resolve.
std::string unresolved(const std::string& host) {
  addrinfo* found = nullptr;
  const int error = getaddrinfo(host.c_str(), nullptr, nullptr, &found);
  if (found) freeaddrinfo(found);
  return error ? gai_strerror(error) : "";
}

Timestamp timestamp(const struct timespec& t) { return {int64_t(t.tv_sec), uint32_t(t.tv_nsec)}; }

// The defaults for an entry that is a directory or not, read-only or not.
uint32_t default_mode(bool directory, bool read_only) {
  return directory ? kDirectoryMode : read_only ? kReadOnlyFileMode : kFileMode;
}

// What every connection of a share uses: where it is, who logs on, and
// how messages name it.
struct SmbTarget {
  std::string shown;       // the URL as typed, without a trailing '/'
  std::string host;
  uint16_t port = 0;       // 0: libsmbclient's default (445, then 139)
  std::string share;       // first component of the URL's path
  std::string in_share;    // the rest, "" or "dir/sub"
  std::string base_url;    // "smb://host/share/dir/sub", percent-encoded
  Credentials credentials;
  std::shared_ptr<SmbReaper> reaper = std::make_shared<SmbReaper>();

  std::string url_of(const std::string& path) const {
    return path.empty() ? base_url : base_url + "/" + percent_encoded(path);
  }
  std::string shown_path(const std::string& path) const { return path.empty() ? shown : shown + "/" + path; }
  std::string share_url() const { return "smb://" + host + "/" + percent_encoded(share); }
  uint16_t shown_port() const { return port ? port : kDefaultPort; }
};

class SmbConnection : public RemoteConnection {
 public:
  SmbConnection(std::shared_ptr<const SmbTarget> target, int timeout_ms)
      : target_(std::move(target)),
        timeout_ms_(timeout_ms),
        ctx_(target_->credentials, target_->port, timeout_ms, target_->reaper, target_->shown) {}

  bool list(const std::string& path, std::vector<RemoteEntry>& out, RemoteError& err) override {
    const SmbLibraryUse use(timeout_ms_);
    if (!use.held()) return busy(err, path, "list");
    std::vector<RemoteEntry> entries;
    const int error = again_after_reset([&] { return list_once(target_->url_of(path), entries); });
    if (error) return failed(err, error, path, "list");
    out.insert(out.end(), std::make_move_iterator(entries.begin()), std::make_move_iterator(entries.end()));
    return true;
  }

  bool stat(const std::string& path, RemoteStat& out, RemoteError& err) override {
    const SmbLibraryUse use(timeout_ms_);
    if (!use.held()) return busy(err, path, "stat");
    const int error = again_after_reset([&] { return stat_url(target_->url_of(path), out); });
    return error ? failed(err, error, path, "stat") : true;
  }

  bool readlink(const std::string& path, std::string&, RemoteError& err) override {
    err.error = EINVAL;
    err.message = target_->shown_path(path) +
                  ": readlink: SMB without unix extensions shows no symlinks (the server follows them)";
    return false;
  }

  bool pread(const std::string& path, uint64_t offset, uint8_t* buf, size_t len, RemoteError& err) override {
    const SmbLibraryUse use(timeout_ms_);
    if (!use.held()) return busy(err, path, fmt::format("read at {}", offset));
    size_t done = 0;
    const int error = again_after_reset([&] { return read_once(path, offset, buf, len, done); });
    if (error == ESTALE) {
      return refused(err, ESTALE, path,
                     fmt::format("read at {}: the file ends at {}, before the {} bytes asked for "
                                 "(it changed on the server since the scan)",
                                 offset, offset + done, len));
    }
    return error ? failed(err, error, path, fmt::format("read at {}", offset + done)) : true;
  }

  bool usable() const override { return !broken_; }

  // 0 when `url` answers a stat, else the errno.
  int probe(const std::string& url) {
    const SmbLibraryUse use(timeout_ms_);
    if (!use.held()) return ETIMEDOUT;
    RemoteStat ignored;
    return stat_url(url, ignored);
  }

 private:
  // Fills `err` for call `what` on `path` that failed with `error`; false.
  bool failed(RemoteError& err, int error, const std::string& path, const std::string& what) {
    if (error == 0) error = EIO;
    return refused(err, error, path, what + ": " + explain(error, timeout_ms_));
  }
  // The library stayed busy with other calls for the whole timeout: this
  // connection did nothing wrong and stays usable.
  bool busy(RemoteError& err, const std::string& path, const std::string& what) {
    err.error = ETIMEDOUT;
    err.message = fmt::format("{}: {}: timed out after {} waiting for the SMB client library "
                              "(other calls wait for the server)",
                              target_->shown_path(path), what, seconds(timeout_ms_));
    return false;
  }
  bool refused(RemoteError& err, int error, const std::string& path, const std::string& why) {
    if (!is_answer(error)) broken_ = true;
    err.error = error;
    err.message = target_->shown_path(path) + ": " + why;
    return false;
  }

  // Runs `call` (0 or an errno) once more when it failed at once on a
  // broken transport (the server restarted since the last call): the kept
  // files go, and libsmbclient logs on anew. A timeout is not retried.
  int again_after_reset(const std::function<int()>& call) {
    const int error = call();
    if (!is_reset(error)) return error;
    ctx_.close_files();
    return call();
  }

  int list_once(const std::string& url, std::vector<RemoteEntry>& out) {
    SMBCFILE* dir = smbc_getFunctionOpendir(ctx_.get())(ctx_.get(), url.c_str());
    if (!dir) return errno ? errno : EIO;
    out.clear();
    struct stat st;
    while (const libsmb_file_info* info = smbc_getFunctionReaddirPlus2(ctx_.get())(ctx_.get(), dir, &st)) {
      const std::string_view name = info->name;
      if (name != "." && name != "..") out.push_back({std::string(name), entry_stat(*info, st)});
    }
    smbc_getFunctionClosedir(ctx_.get())(ctx_.get(), dir);
    return 0;
  }

  // Reads `len` bytes at `offset` into `buf`, counting them in `done`;
  // ESTALE when the file ends first.
  int read_once(const std::string& path, uint64_t offset, uint8_t* buf, size_t len, size_t& done) {
    done = 0;
    SMBCFILE* file = ctx_.open_file(path, target_->url_of(path));
    if (!file) return errno ? errno : EIO;
    if (smbc_getFunctionLseek(ctx_.get())(ctx_.get(), file, off_t(offset), SEEK_SET) < 0) return errno ? errno : EIO;
    while (done < len) {
      const ssize_t n = smbc_getFunctionRead(ctx_.get())(ctx_.get(), file, buf + done, len - done);
      if (n < 0) return errno ? errno : EIO;
      if (n == 0) return ESTALE;
      done += size_t(n);
    }
    return 0;
  }

  int stat_url(const std::string& url, RemoteStat& out) {
    struct stat st;
    if (smbc_getFunctionStat(ctx_.get())(ctx_.get(), url.c_str(), &st) < 0) return errno ? errno : EIO;
    out = RemoteStat{};
    out.mode = default_mode(S_ISDIR(st.st_mode), !(st.st_mode & S_IWUSR));
    out.size = S_ISDIR(st.st_mode) ? 0 : uint64_t(st.st_size);
    out.fileid = st.st_ino;
    out.atime = timestamp(st.st_atim);
    out.mtime = timestamp(st.st_mtim);
    out.ctime = timestamp(st.st_ctim);
    return 0;
  }

  static RemoteStat entry_stat(const libsmb_file_info& info, const struct stat& st) {
    RemoteStat s;
    const bool directory = info.attrs & kAttrDirectory;
    s.mode = default_mode(directory, info.attrs & kAttrReadOnly);
    s.size = directory ? 0 : info.size;
    s.fileid = st.st_ino;
    s.atime = timestamp(info.atime_ts);
    s.mtime = timestamp(info.mtime_ts);
    s.ctime = timestamp(info.ctime_ts);
    return s;
  }

  std::shared_ptr<const SmbTarget> target_;
  int timeout_ms_;
  SmbContext ctx_;
  bool broken_ = false;
};

class SmbShare : public RemoteShare {
 public:
  explicit SmbShare(std::shared_ptr<const SmbTarget> target) : target_(std::move(target)) {}

  std::unique_ptr<RemoteConnection> connect(int timeout_ms) const override {
    auto c = std::make_unique<SmbConnection>(target_, timeout_ms);
    if (const int error = c->probe(target_->base_url)) refuse(*c, error, timeout_ms);
    return c;
  }

  std::string describe() const override { return target_->shown; }

  RemoteCaps caps() const override {
    RemoteCaps caps;
    caps.owners = caps.modes = caps.symlinks = caps.hard_links = false;
    caps.missing = "owners, modes, symlinks and hard links (SMB without unix extensions)";
    return caps;
  }

 private:
  // Throws the Error for a first stat of the URL that failed with `error`.
  [[noreturn]] void refuse(SmbConnection& c, int error, int timeout_ms) const {
    const SmbTarget& t = *target_;
    switch (error) {
      case ETIMEDOUT:
        fail("{}: the SMB server {} port {} did not answer within {}", t.shown, t.host, t.shown_port(),
             seconds(timeout_ms));
      case ENOENT:
        if (t.in_share.empty() || c.probe(t.share_url()) == ENOENT)
          fail("{}: the SMB server {} has no share named '{}'", t.shown, t.host, t.share);
        fail("{}: share '{}' has no '{}'", t.shown, t.share, t.in_share);
      case ENOTDIR:
        fail("{}: a folder on the way to '{}' in share '{}' is a file", t.shown, t.in_share, t.share);
      case EACCES:
      case EPERM:
        refuse_access(c);
      default:
        if (const std::string why = unresolved(t.host); !why.empty())
          fail("{}: cannot resolve the SMB server's name {}: {}", t.shown, t.host, why);
        fail("{}: cannot reach the SMB server {} port {}: {}", t.shown, t.host, t.shown_port(),
             std::strerror(error));
    }
  }

  // Access denied: the logon refused (it fails on IPC$ too), or the share
  // refusing a logon the server accepted.
  [[noreturn]] void refuse_access(SmbConnection& c) const {
    const SmbTarget& t = *target_;
    const bool guest = t.credentials.user.empty();
    if (c.probe("smb://" + t.host + "/IPC$") == EACCES) {
      if (guest)
        fail("{}: the SMB server {} refuses guest logons: give a user and password (--credentials FILE)",
             t.shown, t.host);
      fail("{}: the SMB server {} refused the logon of {}: wrong user name or password", t.shown, t.host,
           describe_logon(t.credentials));
    }
    if (guest)
      fail("{}: share '{}' refuses guests: give a user and password (--credentials FILE)", t.shown, t.share);
    fail("{}: access denied to {} (share '{}')", t.shown, describe_logon(t.credentials), t.share);
  }

  std::shared_ptr<const SmbTarget> target_;
};

std::string without_trailing_slash(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

std::unique_ptr<RemoteShare> open_smb_share(const RemoteUrl& url, const Credentials& credentials) {
  auto target = std::make_shared<SmbTarget>();
  target->shown = without_trailing_slash(url.text);
  target->host = url.host;
  target->port = url.port;
  target->credentials = credentials;
  std::string_view path = url.path;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  const size_t slash = std::min(path.find('/'), path.size());
  target->share = std::string(path.substr(0, slash));
  target->in_share = without_trailing_slash(std::string(path.substr(std::min(slash + 1, path.size()))));
  if (target->in_share == "/") target->in_share.clear();
  if (target->share.empty())
    fail("{}: the URL names no share: smb://[user@]host[:port]/SHARE[/path]", url.text);
  target->base_url = target->share_url();
  if (!target->in_share.empty()) target->base_url += "/" + percent_encoded(target->in_share);
  return std::make_unique<SmbShare>(std::move(target));
}

}  // namespace vdiskfs
