#pragma once
// One connection to an NFS share: a mounted libnfs context (each call
// bounded by the context's timeout) and the files it holds open. libnfs
// 4.0 as Debian ships it: NFSv3 lists with READDIRPLUS (attributes and
// fileids of every entry); its NFSv4 (minor version 0) lists with
// attributes but leaves the fileid unset and never asks for device
// numbers, so for NFSv4 the fileid of an entry with several links is asked
// for with one GETATTR (other entries keep fileid 0) and rdev is always 0.
// libnfs 4.0 never renews an NFSv4 lease either.
//
// A call whose connection broke at once (the server closed it: a restart)
// or whose NFSv4 client the server forgot (its lease expired while the
// connection sat idle) mounts again and is tried once more, so a server
// that is back serves at once; if that fails, or a call timed out, the
// connection is not usable again.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/source/remote/nfs_session.h"
#include "core/source/remote/remote_share.h"

namespace vdiskfs {

// Where a connection mounts and looks: the export given to MOUNT (NFSv4:
// the path from the pseudo-root) and the share's root inside it ("" = the
// export's root), both as the server spells them.
struct NfsMountPoint {
  std::string export_path;  // "/srv/export"
  std::string root;         // "web01/home" or ""
};

// The non-empty components of a '/'-separated path ("/a//b/" -> {"a", "b"}).
std::vector<std::string> nfs_path_components(const std::string& path);

// Mounts the share's export again: a new session, or null with the reason.
using NfsRemount = std::function<std::unique_ptr<NfsSession>(std::string& why)>;

class NfsConnection final : public RemoteConnection {
 public:
  // `session`: mounted at `point`, its timeout `timeout_ms`; `remount`
  // makes another one like it. `shown`: the share's URL without its query,
  // for messages. `version`: 3 or 4.
  NfsConnection(std::unique_ptr<NfsSession> session, NfsRemount remount, NfsMountPoint point, std::string shown,
                int version, int timeout_ms);
  ~NfsConnection() override;

  bool list(const std::string& path, std::vector<RemoteEntry>& out, RemoteError& err) override;
  bool stat(const std::string& path, RemoteStat& out, RemoteError& err) override;
  bool readlink(const std::string& path, std::string& target, RemoteError& err) override;
  bool pread(const std::string& path, uint64_t offset, uint8_t* buf, size_t len, RemoteError& err) override;
  bool usable() const override { return usable_; }

 private:
  // A file held open, with the call count of its last use (the least
  // recently used one is closed when the table is full).
  struct OpenFile {
    std::string path;
    nfsfh* handle;
    uint64_t last_use;
  };
  static constexpr size_t kOpenFilesMax = 32;

  template <typename Call>
  bool with_renewal(Call call, RemoteError& err);
  bool renew(RemoteError& err);
  std::string export_path(const std::string& path) const;
  bool failed(int rc, const std::string& said, const std::string& what, const std::string& path,
              RemoteError& err);

  bool list_once(const std::string& path, std::vector<RemoteEntry>& out, RemoteError& err);
  bool stat_once(const std::string& path, RemoteStat& out, RemoteError& err);
  bool readlink_once(const std::string& path, std::string& target, RemoteError& err);
  bool pread_once(const std::string& path, uint64_t offset, uint8_t* buf, size_t len, RemoteError& err);
  nfsfh* open_file(const std::string& path, RemoteError& err);
  void close_file(size_t index);
  void drop_open_files();
  bool read_at(nfsfh* handle, const std::string& path, uint64_t offset, uint8_t* buf, size_t len,
               RemoteError& err);

  std::unique_ptr<NfsSession> session_;
  NfsRemount remount_;
  NfsMountPoint point_;
  std::string shown_;
  int version_;
  int timeout_ms_;
  bool usable_ = true;
  bool renewable_ = false;  // the last failure may pass on a new mount
  uint64_t calls_ = 0;
  std::vector<OpenFile> open_files_;  // handles of session_'s context
};

}  // namespace vdiskfs
