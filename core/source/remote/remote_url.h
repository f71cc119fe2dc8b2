#pragma once
// The URLs of shares (issue #16): nfs://host[:port]/export/path[?query] and
// smb://[user@]host[:port]/share/path. Passwords are never taken from a URL.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace vdiskfs {

enum class RemoteProtocol { nfs, smb };

struct RemoteUrl {
  RemoteProtocol protocol = RemoteProtocol::nfs;
  std::string host;
  uint16_t port = 0;   // 0: the protocol's default
  std::string user;    // smb: "user@" of the URL; "" = from the credentials, else guest
  std::string path;    // nfs: "/export/path" (export and path inside it); smb: "/share/path"
  std::map<std::string, std::string> query;  // nfs: version=3|4, nfsport=N, mountport=N, ...
  std::string text;    // the URL as typed (it holds no password), for messages
};

// Whether `typed` is a share URL (nfs:// or smb://) rather than a local path.
bool is_remote_url(std::string_view typed);

// Parses a share URL. Throws Error naming the URL and what is wrong: an
// unknown scheme, no host, a bad port, a password in it ("user:pass@":
// use --credentials FILE or the environment), ".." in the path.
RemoteUrl parse_remote_url(std::string_view typed);

}  // namespace vdiskfs
