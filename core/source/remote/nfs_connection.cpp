#include "core/source/remote/nfs_connection.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/core.h>

#include "core/source/remote/nfs4_readlink.h"

namespace vdiskfs {
namespace {

// The S_IFMT bits of a libnfs entry type (NF3REG .. NF3FIFO; NFSv4's
// NF4REG .. NF4FIFO have the same values 1 .. 7).
uint32_t type_bits(uint32_t type) {
  static constexpr uint32_t kBits[] = {0, S_IFREG, S_IFDIR, S_IFBLK, S_IFCHR, S_IFLNK, S_IFSOCK, S_IFIFO};
  return type < std::size(kBits) ? kBits[type] : 0;
}

Timestamp timestamp(uint64_t sec, uint64_t nsec) { return {int64_t(sec), uint32_t(nsec % 1000000000u)}; }

RemoteStat from_stat(const nfs_stat_64& st) {
  RemoteStat out;
  out.mode = uint32_t(st.nfs_mode);
  out.uid = uint32_t(st.nfs_uid);
  out.gid = uint32_t(st.nfs_gid);
  out.size = st.nfs_size;
  out.fileid = st.nfs_ino;
  out.fsid = st.nfs_dev;
  out.nlink = uint32_t(st.nfs_nlink);
  out.rdev = st.nfs_rdev;
  out.atime = timestamp(st.nfs_atime, st.nfs_atime_nsec);
  out.mtime = timestamp(st.nfs_mtime, st.nfs_mtime_nsec);
  out.ctime = timestamp(st.nfs_ctime, st.nfs_ctime_nsec);
  return out;
}

RemoteStat from_entry(const nfsdirent& e, int version) {
  RemoteStat out;
  out.mode = e.mode;
  if ((out.mode & S_IFMT) == 0) out.mode |= type_bits(e.type);
  out.uid = e.uid;
  out.gid = e.gid;
  out.size = e.size;
  out.fileid = version == 3 ? e.inode : 0;  // libnfs 4.0's NFSv4 listing leaves it unset
  out.fsid = version == 3 ? e.dev : 0;
  out.nlink = e.nlink;
  out.rdev = e.rdev;
  out.atime = timestamp(e.atime.tv_sec, e.atime_nsec);
  out.mtime = timestamp(e.mtime.tv_sec, e.mtime_nsec);
  out.ctime = timestamp(e.ctime.tv_sec, e.ctime_nsec);
  return out;
}

// A CLOSE nobody waits for (a connection being dropped).
void ignore_reply(int, nfs_context*, void*, void*) {}

// The answer of a call whose status is all it says.
int status_only(int status, void*, std::string&) { return status; }

std::string seconds_text(int ms) {
  return ms % 1000 == 0 ? fmt::format("{} s", ms / 1000) : fmt::format("{:.1f} s", ms / 1000.0);
}

}  // namespace

std::vector<std::string> nfs_path_components(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos < path.size()) {
    const size_t slash = std::min(path.find('/', pos), path.size());
    if (slash > pos) parts.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return parts;
}

NfsConnection::NfsConnection(std::unique_ptr<NfsSession> session, NfsRemount remount, NfsMountPoint point,
                             std::string shown, int version, int timeout_ms)
    : session_(std::move(session)),
      remount_(std::move(remount)),
      point_(std::move(point)),
      shown_(std::move(shown)),
      version_(version),
      timeout_ms_(timeout_ms) {}

NfsConnection::~NfsConnection() { drop_open_files(); }

void NfsConnection::drop_open_files() {
  // A healthy connection closes its files (NFSv4: CLOSE frees the server's
  // open state; NFSv3 frees the handle locally). A broken NFSv4 one queues
  // the CLOSEs without waiting: destroying the context cancels them, and
  // the cancellation frees the handles.
  nfs_context* nfs = session_->context();
  for (auto& file : open_files_) {
    if (usable_ || version_ == 3) {
      std::string why;
      const int rc = session_->call(
          [&](nfs_cb callback, void* answer) { return nfs_close_async(nfs, file.handle, callback, answer); },
          status_only, why);
      if (rc < 0) usable_ = false;  // no more waits for this one
    } else {
      nfs_close_async(nfs, file.handle, ignore_reply, nullptr);
    }
  }
  open_files_.clear();
}

template <typename Call>
bool NfsConnection::with_renewal(Call call, RemoteError& err) {
  ++calls_;
  renewable_ = false;
  if (call(err)) return true;
  if (!renewable_ || !renew(err)) return false;
  renewable_ = false;
  return call(err);
}

bool NfsConnection::renew(RemoteError& err) {
  drop_open_files();
  std::string why;
  std::unique_ptr<NfsSession> fresh;
  try {
    fresh = remount_(why);
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (!fresh) {
    usable_ = false;
    err.message += "; mounting again failed: " + why;
    return false;
  }
  session_ = std::move(fresh);
  usable_ = true;
  return true;
}

std::string NfsConnection::export_path(const std::string& path) const {
  std::string out = "/" + point_.root;
  if (!path.empty()) out += (point_.root.empty() ? "" : "/") + path;
  return out;
}

bool NfsConnection::failed(int rc, const std::string& said, const std::string& what, const std::string& path,
                           RemoteError& err) {
  const int code = rc < 0 ? -rc : EIO;
  const std::string& libnfs = said;
  const std::string because = said.empty() ? "" : " (libnfs: " + said + ")";
  const std::string where = path.empty() ? shown_ : shown_ + "/" + path;
  // libnfs 4.0 says EINTR for a call that timed out (its text then may be
  // "Command was cancelled"); EFAULT, or EIO with "nfs_service failed",
  // when the socket broke. None of these leave the connection fit for use;
  // nor does a server's EIO, to be safe.
  if (code == EINTR) {
    usable_ = false;
    err = {ETIMEDOUT, fmt::format("{}: {}: timed out after {}", where, what, seconds_text(timeout_ms_))};
    return false;
  }
  if (code == EFAULT || code == ECONNRESET || code == EPIPE || code == ENOTCONN ||
      (code == EIO && libnfs.find("nfs_service failed") != std::string::npos)) {
    usable_ = false;
    renewable_ = true;
    err = {ECONNRESET, fmt::format("{}: {}: connection to the server lost{}", where, what, because)};
    return false;
  }
  // NFSv4 states libnfs 4.0 does not know come as ERANGE; these say the
  // server forgot this client or its opens.
  if (version_ == 4 && code == ERANGE) {
    usable_ = false;
    for (const char* state : {"NFS4ERR_EXPIRED", "NFS4ERR_STALE_CLIENTID", "NFS4ERR_BAD_STATEID",
                              "NFS4ERR_STALE_STATEID", "NFS4ERR_ADMIN_REVOKED"})
      renewable_ = renewable_ || libnfs.find(state) != std::string::npos;
    err = {EIO, fmt::format("{}: {}: the server refused it{}", where, what, because)};
    return false;
  }
  if (code == EIO) usable_ = false;
  err = {code, fmt::format("{}: {}: {}{}", where, what, strerror(code), because)};
  return false;
}

bool NfsConnection::list(const std::string& path, std::vector<RemoteEntry>& out, RemoteError& err) {
  return with_renewal([&](RemoteError& e) { return list_once(path, out, e); }, err);
}

bool NfsConnection::stat(const std::string& path, RemoteStat& out, RemoteError& err) {
  return with_renewal([&](RemoteError& e) { return stat_once(path, out, e); }, err);
}

bool NfsConnection::readlink(const std::string& path, std::string& target, RemoteError& err) {
  return with_renewal([&](RemoteError& e) { return readlink_once(path, target, e); }, err);
}

bool NfsConnection::pread(const std::string& path, uint64_t offset, uint8_t* buf, size_t len, RemoteError& err) {
  return with_renewal([&](RemoteError& e) { return pread_once(path, offset, buf, len, e); }, err);
}

bool NfsConnection::list_once(const std::string& path, std::vector<RemoteEntry>& out, RemoteError& err) {
  nfs_context* nfs = session_->context();
  const std::string where = export_path(path);
  std::string why;
  out.clear();
  auto take = [&](int status, void* data, std::string&) {
    auto* dir = static_cast<nfsdir*>(data);
    while (nfsdirent* e = nfs_readdir(nfs, dir)) {
      if (strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0) continue;
      out.push_back({e->name, from_entry(*e, version_)});
    }
    nfs_closedir(nfs, dir);
    return status;
  };
  const int rc = session_->call(
      [&](nfs_cb callback, void* answer) { return nfs_opendir_async(nfs, where.c_str(), callback, answer); }, take,
      why);
  if (rc < 0) return failed(rc, why, "READDIR", path, err);
  if (version_ == 3) return true;
  // NFSv4: the fileid that ties hard links together, where there can be any.
  for (auto& entry : out) {
    if (entry.stat.nlink < 2 || S_ISDIR(entry.stat.mode)) continue;
    RemoteStat st;
    if (!stat_once(path.empty() ? entry.name : path + "/" + entry.name, st, err)) return false;
    entry.stat.fileid = st.fileid;
    entry.stat.fsid = st.fsid;
  }
  return true;
}

bool NfsConnection::stat_once(const std::string& path, RemoteStat& out, RemoteError& err) {
  nfs_context* nfs = session_->context();
  const std::string where = export_path(path);
  std::string why;
  auto take = [&](int status, void* data, std::string&) {
    out = from_stat(*static_cast<const nfs_stat_64*>(data));
    return status;
  };
  const int rc = session_->call(
      [&](nfs_cb callback, void* answer) { return nfs_lstat64_async(nfs, where.c_str(), callback, answer); }, take,
      why);
  return rc >= 0 || failed(rc, why, "GETATTR", path, err);
}

bool NfsConnection::readlink_once(const std::string& path, std::string& target, RemoteError& err) {
  std::string why;
  int rc = 0;
  if (version_ == 4) {
    // From the pseudo-root: libnfs 4.0's own NFSv4 READLINK overreads.
    rc = nfs4_readlink(*session_, nfs_path_components(point_.export_path + export_path(path)), target, why);
  } else {
    nfs_context* nfs = session_->context();
    const std::string where = export_path(path);
    auto take = [&](int status, void* data, std::string&) {
      target = static_cast<const char*>(data);  // NFSv3's path is NUL-terminated by libnfs
      return status;
    };
    rc = session_->call(
        [&](nfs_cb callback, void* answer) { return nfs_readlink_async(nfs, where.c_str(), callback, answer); },
        take, why);
  }
  return rc >= 0 || failed(rc, why, "READLINK", path, err);
}

nfsfh* NfsConnection::open_file(const std::string& path, RemoteError& err) {
  for (auto& file : open_files_) {
    if (file.path != path) continue;
    file.last_use = calls_;
    return file.handle;
  }
  if (open_files_.size() >= kOpenFilesMax) {
    auto oldest = std::min_element(open_files_.begin(), open_files_.end(),
                                   [](const OpenFile& a, const OpenFile& b) { return a.last_use < b.last_use; });
    close_file(size_t(oldest - open_files_.begin()));
  }
  nfs_context* nfs = session_->context();
  const std::string where = export_path(path);
  nfsfh* handle = nullptr;
  std::string why;
  auto take = [&](int status, void* data, std::string&) {
    handle = static_cast<nfsfh*>(data);
    return status;
  };
  const int rc = session_->call(
      [&](nfs_cb callback, void* answer) { return nfs_open_async(nfs, where.c_str(), O_RDONLY, callback, answer); },
      take, why);
  if (rc < 0) {
    failed(rc, why, "OPEN", path, err);
    return nullptr;
  }
  open_files_.push_back({path, handle, calls_});
  return handle;
}

void NfsConnection::close_file(size_t index) {
  nfs_context* nfs = session_->context();
  nfsfh* handle = open_files_[index].handle;
  open_files_.erase(open_files_.begin() + ptrdiff_t(index));
  std::string why;
  session_->call([&](nfs_cb callback, void* answer) { return nfs_close_async(nfs, handle, callback, answer); },
                 status_only, why);
}

bool NfsConnection::read_at(nfsfh* handle, const std::string& path, uint64_t offset, uint8_t* buf, size_t len,
                            RemoteError& err) {
  // NFSv3 knows the server's largest READ (FSINFO); libnfs 4.0's NFSv4 does
  // not ask, and the server shortens a READ beyond its own limit.
  nfs_context* nfs = session_->context();
  const uint64_t readmax = nfs_get_readmax(nfs);
  const size_t chunk = readmax ? size_t(readmax) : size_t(1) << 20;
  size_t done = 0;
  while (done < len) {
    const size_t want = std::min(chunk, len - done);
    std::string why;
    auto take = [&](int status, void* data, std::string&) {
      memcpy(buf + done, data, std::min(size_t(status), want));
      return status;
    };
    const int n = session_->call(
        [&](nfs_cb callback, void* answer) {
          return nfs_pread_async(nfs, handle, offset + done, want, callback, answer);
        },
        take, why);
    if (n < 0) return failed(n, why, fmt::format("READ of {} bytes at {}", want, offset + done), path, err);
    if (n == 0) {
      err = {ENODATA, fmt::format("{}/{}: the file ends at byte {}, before the {} bytes asked at {} "
                                  "(it changed since the scan)",
                                  shown_, path, offset + done, len, offset)};
      return false;
    }
    done += std::min(size_t(n), want);
  }
  return true;
}

bool NfsConnection::pread_once(const std::string& path, uint64_t offset, uint8_t* buf, size_t len,
                               RemoteError& err) {
  nfsfh* handle = open_file(path, err);
  if (!handle) return false;
  if (read_at(handle, path, offset, buf, len, err)) return true;
  if (err.error != ESTALE || !usable_) return false;
  // The server forgot the handle (a restart of a server whose handles do
  // not persist): open the file again, once.
  auto held = std::find_if(open_files_.begin(), open_files_.end(), [&](const OpenFile& f) { return f.path == path; });
  if (held != open_files_.end()) close_file(size_t(held - open_files_.begin()));
  handle = open_file(path, err);
  return handle && read_at(handle, path, offset, buf, len, err);
}

}  // namespace vdiskfs
