#pragma once
// A share reached over NFS through libnfs (issue #16): NFSv3 (MOUNT, then
// NFS), or NFSv4 with ?version=4. The URL's path is an export and a folder
// inside it: the first connection mounts the whole path, then shorter
// prefixes down to "/" (NFSv4: its pseudo-root), and the rest of the path
// is the share's root inside the export; later connections mount that
// export directly. The URL's query goes to libnfs as it is (nfsport,
// mountport, uid, gid, ...). libnfs's own reconnection is off: a
// connection mounts again once after its socket broke (NfsConnection), and
// one that timed out is left to the pool to replace.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/source/remote/nfs_connection.h"
#include "core/source/remote/remote_share.h"
#include "core/source/remote/remote_url.h"

namespace vdiskfs {

class NfsShare final : public RemoteShare {
 public:
  explicit NfsShare(RemoteUrl url);

  std::unique_ptr<RemoteConnection> connect(int timeout_ms) const override;
  std::string describe() const override { return url_.text; }
  RemoteCaps caps() const override;

 private:
  // Why a mount did not give a usable share root: no answer or a broken
  // connection; MOUNT refused access; no such export (or the export is a
  // file); the export mounted but the share's root is not in it, or may
  // not be looked at.
  enum class MountFailure { none, unreachable, denied, missing, root_missing, root_denied };

  // A libnfs context with the URL's options, no reconnection, `timeout_ms`.
  NfsContextPtr new_context(int timeout_ms) const;
  // A session mounted at `point` whose share root exists, or null with why.
  std::unique_ptr<NfsSession> mount(const NfsMountPoint& point, int timeout_ms, MountFailure& why,
                                    std::string& said) const;
  // Whether the share's root is there in a mounted export (none: it is).
  MountFailure root_failure(NfsSession& session, const NfsMountPoint& point, std::string& said) const;
  // The longest prefix of the URL's path that mounts (`mounted`: its
  // session); throws Error when none does.
  NfsMountPoint find_mount_point(int timeout_ms, std::unique_ptr<NfsSession>& mounted) const;
  // Which port of the server refuses or ignores a connection, in words;
  // "" when all of them take one.
  std::string unreachable_reason(int timeout_ms) const;
  [[noreturn]] void fail_mount(MountFailure why, const std::string& said, const NfsMountPoint& point,
                               int timeout_ms) const;

  RemoteUrl url_;
  int version_;          // 3 or 4
  std::string shown_;    // the URL without its query, for messages
  mutable std::mutex mutex_;
  mutable std::optional<NfsMountPoint> found_;  // after the first connection
  mutable std::atomic<uint64_t> contexts_made_{0};  // numbers NFSv4 client names
};

// The share `url` names (an nfs:// URL); nothing is contacted until connect().
std::unique_ptr<RemoteShare> open_nfs_share(const RemoteUrl& url);

}  // namespace vdiskfs
