#include "core/source/source_factory.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "core/image/error.h"
#include "core/source/directory/directory_source.h"
#include "core/source/tar/tar_source.h"

namespace vdiskfs {

std::string source_kinds_help() { return "a directory or an uncompressed tar archive"; }

std::string resolve_source(const std::string& typed) {
  char resolved[PATH_MAX];
  if (!realpath(typed.c_str(), resolved)) {
    if (errno == ENOENT) fail("source {} does not exist", typed);
    fail("cannot resolve source {}: {}", typed, strerror(errno));
  }
  return resolved;
}

std::unique_ptr<Source> open_source(const std::string& typed, const ScanOptions& options, ScanReport& report) {
  const std::string path = resolve_source(typed);
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return TarSource::open(path, options, report);
  return DirectorySource::open(path, options, report);
}

std::string source_default_name(const std::string& canonical_source) {
  const size_t slash = canonical_source.find_last_of('/');
  std::string base = slash == std::string::npos ? canonical_source : canonical_source.substr(slash + 1);
  // A backup "web01.tar" shows as web01.img, web01.vmdk, ...
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".tar") == 0) base.resize(base.size() - 4);
  return base.empty() ? "root" : base;  // "/" has no base name
}

}  // namespace vdiskfs
