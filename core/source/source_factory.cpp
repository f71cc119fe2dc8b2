#include "core/source/source_factory.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/image/error.h"
#include "core/source/directory/directory_source.h"
#include "core/source/remote/credentials.h"
#include "core/source/remote/nfs_share.h"
#include "core/source/remote/remote_archive_file.h"
#include "core/source/remote/remote_source.h"
#include "core/source/remote/remote_url.h"
#include "core/source/remote/smb_share.h"
#include "core/source/tar/tar_chain.h"
#include "core/source/tar/tar_source.h"

namespace vdiskfs {

std::string source_kinds_help() {
  return "a directory, a tar archive (plain, or gzip, zstd, xz or bzip2 compressed: read in place), a chain of GNU tar "
         "--listed-incremental archives (full.tar+incr1.tar+...), or a share: nfs://host[:port]/export/path[?version=3|4] or "
         "smb://[user@]host[:port]/share/path";
}

namespace {

// The share a URL names, connected with `options` (credentials for SMB).
std::unique_ptr<RemoteShare> open_share(const std::string& typed, const ScanOptions& options) {
  const RemoteUrl url = parse_remote_url(typed);
  if (url.protocol == RemoteProtocol::nfs) return open_nfs_share(url);
  return open_smb_share(url, load_credentials(options.remote.credentials, url.user));
}

// A share's tree, or a tar archive on a share when the URL names a file.
std::unique_ptr<Source> open_remote(const std::string& url, const ScanOptions& options, ScanReport& report) {
  std::unique_ptr<RemoteShare> share = open_share(url, options);
  std::unique_ptr<RemoteConnection> first = share->connect(options.remote.timeout_ms);  // Error naming the URL
  RemoteStat st;
  RemoteError err;
  if (!first->stat("", st, err)) fail("{}: {}", share->describe(), err.message);
  first.reset();
  if (S_ISDIR(st.mode)) return RemoteSource::open(std::move(share), options, report);
  if (!S_ISREG(st.mode)) fail("{} is neither a directory nor a tar archive file", share->describe());
  return TarSource::open(std::make_unique<RemoteArchiveFile>(std::move(share), st, options.remote), options, report);
}

}  // namespace

std::string resolve_source(const std::string& typed) {
  if (is_remote_url(typed)) return parse_remote_url(typed).text;
  if (const std::vector<std::string> chain = split_chain(typed); chain.size() > 1) {
    std::string joined;
    for (const std::string& archive : chain) joined += (joined.empty() ? "" : "+") + resolve_source(archive);
    return joined;
  }
  char resolved[PATH_MAX];
  if (!realpath(typed.c_str(), resolved)) {
    if (errno == ENOENT) fail("source {} does not exist", typed);
    fail("cannot resolve source {}: {}", typed, strerror(errno));
  }
  return resolved;
}

std::unique_ptr<Source> open_source(const std::string& typed, const ScanOptions& options, ScanReport& report) {
  const std::string path = resolve_source(typed);
  if (is_remote_url(path)) {
    if (options.chain_at) fail("--at is for a chain of incremental tar archives, not {}", path);
    return open_remote(path, options, report);
  }
  const std::vector<std::string> chain = split_chain(path);
  struct stat st;
  const bool file = stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  if (options.chain_at && chain.size() == 1 && !file)
    fail("--at is for a chain of incremental tar archives, not {}", path);
  if (chain.size() > 1 || options.chain_at) return TarChain::open(chain, options.chain_at, options, report);
  if (file) return TarSource::open(path, options, report);
  return DirectorySource::open(path, options, report);
}

std::string source_default_name(const std::string& canonical_source) {
  std::string_view source = canonical_source;
  if (is_remote_url(source)) source = source.substr(0, source.find('?'));  // nfs://h/export/web01?version=4
  while (source.size() > 1 && source.back() == '/') source.remove_suffix(1);
  // A chain is named after its full backup, the first archive.
  if (const std::vector<std::string> chain = split_chain(std::string(source));
      chain.size() > 1 && !is_remote_url(source))
    return source_default_name(chain.front());
  const size_t slash = source.find_last_of('/');
  std::string base(slash == std::string::npos ? source : source.substr(slash + 1));
  // A backup "web01.tar" (or .tar.gz, .tgz, .tar.zst, ...) shows as
  // web01.img, web01.vmdk, ...
  for (std::string_view suffix : {".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst", ".tar.xz", ".txz", ".tar.bz2", ".tbz2"})
    if (base.size() > suffix.size() && base.compare(base.size() - suffix.size(), suffix.size(), suffix) == 0) {
      base.resize(base.size() - suffix.size());
      break;
    }
  return base.empty() ? "root" : base;  // "/" has no base name
}

std::string read_chain_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("cannot read the chain file {}: {}", path, strerror(errno));
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string joined, line;
  for (int number = 1; std::getline(in, line); ++number) {
    const size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos || line[begin] == '#') continue;
    line = line.substr(begin, line.find_last_not_of(" \t\r") + 1 - begin);
    if (line.find('+') != std::string::npos)
      fail("chain file {} line {}: archive name {} holds a '+', which separates a chain's archives; rename it", path,
           number, line);
    joined += (joined.empty() ? "" : "+") + (line.front() == '/' ? line : dir + line);
  }
  if (joined.empty()) fail("chain file {} lists no archive (one path a line)", path);
  return joined;
}

}  // namespace vdiskfs
