#include "core/source/remote/nfs_share.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <string>
#include <vector>

#include "core/image/error.h"
#include "core/source/remote/tcp_probe.h"

namespace vdiskfs {
namespace {

std::string join(const std::vector<std::string>& parts, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) out += (i == from ? "" : "/") + parts[i];
  return out;
}

// TCP SYN retries so that connecting to a host that does not answer gives
// up within `timeout_ms` (Linux resends after 1, 2, 4, ... s: n retries
// take 2^(n+1) - 1 s).
int syn_retries(int timeout_ms) {
  int n = 1;
  while (n < 6 && ((1 << (n + 2)) - 1) * 1000 <= timeout_ms) ++n;
  return n;
}

std::string error_text(nfs_context* context) {
  const char* said = nfs_get_error(context);
  return said && *said ? said : "no reason given";
}

}  // namespace

NfsShare::NfsShare(RemoteUrl url) : url_(std::move(url)) {
  auto version = url_.query.find("version");
  version_ = version != url_.query.end() && version->second == "4" ? 4 : 3;
  shown_ = url_.text.substr(0, url_.text.find('?'));
  while (shown_.size() > 6 && shown_.back() == '/') shown_.pop_back();
}

RemoteCaps NfsShare::caps() const {
  RemoteCaps caps;
  if (version_ == 4)
    caps.missing = "device numbers (libnfs 4.0 does not ask NFSv4 servers for them: devices get 0,0; "
                   "?version=3 carries them)";
  return caps;
}

NfsContextPtr NfsShare::new_context(int timeout_ms) const {
  NfsContextPtr context(nfs_init_context());
  if (!context) fail("{}: cannot make an NFS client context (out of memory)", url_.text);
  nfs_set_autoreconnect(context.get(), 0);
  nfs_set_dircache(context.get(), 0);
  nfs_set_timeout(context.get(), timeout_ms);
  nfs_set_tcp_syncnt(context.get(), syn_retries(timeout_ms));
  // libnfs 4.0 names an NFSv4 client "Libnfs pid:PID SECONDS": contexts
  // made in the same second would be one client to the server, each new
  // SETCLIENTID (another verifier) ending the others' state, and all
  // sharing one open-owner. Each context gets a name of its own (libnfs
  // drops the default name without freeing it: 30 bytes per context).
  if (version_ == 4) {
    const std::string name = fmt::format("vdiskfs pid:{} share:{:x} context:{} {}", getpid(),
                                         reinterpret_cast<uintptr_t>(this), contexts_made_++, time(nullptr));
    nfs4_set_client_name(context.get(), name.c_str());
  }
  // libnfs reads its options (nfsport, mountport, version, uid, ...) from
  // the query of a URL of its own; parse_remote_url checked them.
  std::string query;
  for (const auto& [key, value] : url_.query) query += (query.empty() ? "" : "&") + key + "=" + value;
  if (query.empty()) return context;
  nfs_url* parsed = nfs_parse_url_incomplete(context.get(), ("nfs://server/?" + query).c_str());
  if (!parsed) fail("{}: libnfs refused the options '{}': {}", url_.text, query, error_text(context.get()));
  nfs_destroy_url(parsed);
  return context;
}

std::unique_ptr<NfsSession> NfsShare::mount(const NfsMountPoint& point, int timeout_ms, MountFailure& why,
                                            std::string& said) const {
  NfsContextPtr context = new_context(timeout_ms);
  const int rc = nfs_mount(context.get(), url_.host.c_str(), point.export_path.c_str());
  if (rc != 0) {
    said = error_text(context.get());
    why = rc == -EACCES || rc == -EPERM ? MountFailure::denied
          : rc == -ENOENT || rc == -ENOTDIR ? MountFailure::missing
                                            : MountFailure::unreachable;
    // MOUNT's own refusals (MNT3ERR_ACCES for a path that is not exported,
    // MNT3ERR_NOENT) come through the mount callback as errors with text.
    if (why == MountFailure::unreachable && said.find("MNT3ERR_") != std::string::npos)
      why = said.find("MNT3ERR_ACCES") != std::string::npos ? MountFailure::denied : MountFailure::missing;
    return nullptr;
  }
  auto session = std::make_unique<NfsSession>(std::move(context));
  why = root_failure(*session, point, said);
  return why == MountFailure::none ? std::move(session) : nullptr;
}

NfsShare::MountFailure NfsShare::root_failure(NfsSession& session, const NfsMountPoint& point,
                                              std::string& said) const {
  nfs_context* nfs = session.context();
  const std::string root = "/" + point.root;
  bool folder = false;
  auto take = [&](int status, void* data, std::string&) {
    folder = S_ISDIR(static_cast<const nfs_stat_64*>(data)->nfs_mode);
    return status;
  };
  const int rc = session.call(
      [&](nfs_cb callback, void* answer) { return nfs_lstat64_async(nfs, root.c_str(), callback, answer); }, take,
      said);
  if (rc >= 0 && (folder || !point.root.empty())) return MountFailure::none;
  if (rc >= 0) {
    said = "not a folder";
    return MountFailure::missing;  // NFSv4 mounts a file: its folder is the export
  }
  return rc == -ENOENT || rc == -ENOTDIR ? MountFailure::root_missing
         : rc == -EACCES || rc == -EPERM ? MountFailure::root_denied
                                         : MountFailure::unreachable;
}

NfsMountPoint NfsShare::find_mount_point(int timeout_ms, std::unique_ptr<NfsSession>& mounted) const {
  const auto parts = nfs_path_components(url_.path);
  std::string tried, said;
  bool denied = false;
  for (size_t keep = parts.size() + 1; keep-- > 0;) {
    NfsMountPoint point{"/" + join(parts, 0, keep), join(parts, keep, parts.size())};
    MountFailure why = MountFailure::none;
    std::string answer;
    mounted = mount(point, timeout_ms, why, answer);
    if (mounted) return point;
    if (why != MountFailure::denied && why != MountFailure::missing) fail_mount(why, answer, point, timeout_ms);
    tried += (tried.empty() ? "" : ", ") + point.export_path;
    if (said.empty() || why == MountFailure::denied) said = answer;
    denied = denied || why == MountFailure::denied;
  }
  fail("{}: no export of {} holds {}: mounting {} failed ({}){}", url_.text, url_.host, url_.path, tried, said,
       denied ? "; if it is exported, check that the export lets this client in (clients, squash, uid/gid)" : "");
}

std::string NfsShare::unreachable_reason(int timeout_ms) const {
  struct Port {
    const char* service;
    uint16_t number;
  };
  auto given = [&](const char* key) -> uint16_t {
    auto it = url_.query.find(key);
    return it == url_.query.end() ? 0 : uint16_t(std::stoi(it->second));
  };
  std::vector<Port> ports;
  if (version_ == 4) {
    ports.push_back({"NFS", given("nfsport") ? given("nfsport") : uint16_t(2049)});
  } else {
    if (!given("nfsport") || !given("mountport")) ports.push_back({"portmapper", 111});
    if (given("mountport")) ports.push_back({"MOUNT", given("mountport")});
    if (given("nfsport")) ports.push_back({"NFS", given("nfsport")});
  }
  for (const Port& port : ports) {
    const std::string why = tcp_probe(url_.host, port.number, timeout_ms);
    if (!why.empty()) return fmt::format("{} port {} ({}): {}", url_.host, port.number, port.service, why);
  }
  return "";
}

void NfsShare::fail_mount(MountFailure why, const std::string& said, const NfsMountPoint& point,
                          int timeout_ms) const {
  const std::string what =
      point.root.empty() ? "export " + point.export_path : point.root + " in export " + point.export_path;
  switch (why) {
    case MountFailure::unreachable: {
      const std::string reason = unreachable_reason(timeout_ms);
      if (!reason.empty()) fail("{}: cannot reach the NFS server: {}", url_.text, reason);
      fail("{}: the NFS server {} does not answer ({})", url_.text, url_.host, said);
    }
    case MountFailure::denied:
    case MountFailure::root_denied:
      fail("{}: the server refused access to {} ({}); check that the export lets this client in "
           "(clients, squash, uid/gid)",
           url_.text, what, said);
    default:
      fail("{}: {} does not exist on the server ({})", url_.text, what, said);
  }
}

std::unique_ptr<RemoteConnection> NfsShare::connect(int timeout_ms) const {
  std::unique_ptr<NfsSession> session;
  NfsMountPoint point;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!found_) found_ = find_mount_point(timeout_ms, session);
    point = *found_;
  }
  if (!session) {
    MountFailure why = MountFailure::none;
    std::string said;
    session = mount(point, timeout_ms, why, said);
    if (!session) fail_mount(why, said, point, timeout_ms);
  }
  NfsRemount remount = [this, point, timeout_ms](std::string& why) {
    MountFailure failure = MountFailure::none;
    std::unique_ptr<NfsSession> session = mount(point, timeout_ms, failure, why);
    const std::string reason = failure == MountFailure::unreachable ? unreachable_reason(timeout_ms) : "";
    if (!reason.empty()) why = reason;
    return session;
  };
  return std::make_unique<NfsConnection>(std::move(session), std::move(remount), point, shown_, version_,
                                         timeout_ms);
}

std::unique_ptr<RemoteShare> open_nfs_share(const RemoteUrl& url) {
  if (url.protocol != RemoteProtocol::nfs) fail("{}: not an nfs:// URL", url.text);
  return std::make_unique<NfsShare>(url);
}

}  // namespace vdiskfs
