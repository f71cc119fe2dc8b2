#pragma once
// A share reached from user space (issue #16): NFS through libnfs, SMB
// through libsmbclient. A RemoteShare makes connections; a connection is
// used by one thread at a time (libnfs and libsmbclient contexts are not
// thread-safe), so RemoteSource keeps a pool of them. Paths are relative
// to the share's root as the user's URL names it ("" is that root), '/'
// separated, never with "." or "..".
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/image/status.h"
#include "core/source/timestamp.h"

namespace vdiskfs {

// What a share says about one entry.
struct RemoteStat {
  uint32_t mode = 0;  // S_IFMT type bits and permission bits
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;   // bytes (regular files; a symlink: its target's length)
  uint64_t fileid = 0; // the server's inode number (NFS fileid, SMB inode): hard links share it
  uint64_t fsid = 0;   // the server filesystem the fileid belongs to (NFS fsid; 0 where not said)
  uint32_t nlink = 1;
  uint64_t rdev = 0;   // devices: makedev(major, minor)
  Timestamp atime, mtime, ctime;
};

// One entry of a directory listing, with its attributes (READDIRPLUS; SMB
// directory queries with attributes).
struct RemoteEntry {
  std::string name;
  RemoteStat stat;
};

// What a protocol carries; what it does not gets documented defaults and
// one warning line (SMB without unix extensions: owners, modes, symlinks).
struct RemoteCaps {
  bool owners = true;    // uid/gid are the server's
  bool modes = true;     // permission bits are the server's
  bool symlinks = true;  // symlinks are seen as such, with their targets
  bool hard_links = true;  // fileid identifies a file across names
  std::string missing;   // what is missing, for the warning ("" = all carried)
};

// Why a remote call failed: the Status for the reader (io_error for a
// fault, source_changed never here) and a message that names the path and
// the server's answer, never a password.
struct RemoteError {
  int error = 0;        // errno-style code (ENOENT, EACCES, ETIMEDOUT, ECONNRESET, ...)
  std::string message;  // "nfs://127.0.0.1/export/a/b: READ at 4096: timed out after 30 s"
};

// One connection to a share. Calls return true, or false and fill `err`.
// A connection whose call failed with a transport error (timeout, reset)
// is not used again: the pool drops it and connects anew.
class RemoteConnection {
 public:
  virtual ~RemoteConnection() = default;
  // The entries of directory `path`, without "." and "..", any order.
  virtual bool list(const std::string& path, std::vector<RemoteEntry>& out, RemoteError& err) = 0;
  // Attributes of `path` without following a symlink.
  virtual bool stat(const std::string& path, RemoteStat& out, RemoteError& err) = 0;
  virtual bool readlink(const std::string& path, std::string& target, RemoteError& err) = 0;
  // Reads exactly `len` bytes of regular file `path` at `offset` (bytes),
  // or fails (a short file is an error: it changed since the scan).
  virtual bool pread(const std::string& path, uint64_t offset, uint8_t* buf, size_t len, RemoteError& err) = 0;
  // Whether the connection can be used again after `err` (false after a
  // timeout or a broken transport).
  virtual bool usable() const = 0;
};

// Where a share is and how to reach it; makes connections.
class RemoteShare {
 public:
  virtual ~RemoteShare() = default;
  // A new connection, with `timeout_ms` for every call. Throws Error naming
  // the URL (never the password) when the server cannot be reached, the
  // path does not exist, access is denied or the credentials are wrong.
  virtual std::unique_ptr<RemoteConnection> connect(int timeout_ms) const = 0;
  // The URL as messages show it ("nfs://127.0.0.1/export/web01?version=4").
  virtual std::string describe() const = 0;
  virtual RemoteCaps caps() const = 0;
};

}  // namespace vdiskfs
