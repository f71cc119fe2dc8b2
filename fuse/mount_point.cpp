#include "fuse/mount_point.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/image/error.h"

namespace vdiskfs {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      out += char(std::strtol(s.substr(i + 1, 3).c_str(), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string mount_device(const std::string& canonical_path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    if (unescape_mountinfo(mount_point) == canonical_path) found = devno;
  }
  return found;
}

std::vector<std::string> mounts_of_type(const std::string& fstype) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    // ID PARENT DEV ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, fstype.size() + 1, fstype + " ") != 0) continue;
    std::istringstream fields(line);
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    out.push_back(unescape_mountinfo(mount_point));
  }
  return out;
}

bool is_mount_point(const std::string& canonical_path) { return !mount_device(canonical_path).empty(); }

bool set_mount_readahead(const std::string& canonical_path, unsigned kib) {
  const std::string dev = mount_device(canonical_path);
  if (dev.empty()) return false;
  std::ofstream out("/sys/class/bdi/" + dev + "/read_ahead_kb");
  out << kib << "\n";
  out.flush();
  return bool(out);
}

std::string check_mount_point(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) fail("mount point {} does not exist; create it with mkdir", path);
    if (errno == ENOTCONN)
      fail("mount point {} is a FUSE mount whose daemon is gone; run 'fusermount3 -u {}'", path, path);
    fail("cannot use mount point {}: {}", path, strerror(errno));
  }
  if (!S_ISDIR(st.st_mode)) fail("mount point {} is not a directory", path);
  char resolved[PATH_MAX];
  if (!realpath(path.c_str(), resolved)) fail("cannot resolve mount point {}: {}", path, strerror(errno));
  const std::string canonical = resolved;
  if (is_mount_point(canonical)) {
    // Cached attributes can hide a dead FUSE daemon from stat; listing asks it.
    errno = 0;
    DIR* probe = opendir(resolved);
    if (probe) readdir(probe);
    const int err = errno;
    if (probe) closedir(probe);
    if (err == ENOTCONN)
      fail("mount point {} is a FUSE mount whose daemon is gone; run 'fusermount3 -u {}'", path, path);
    fail("mount point {} is already in use by another mount; unmount it first (fusermount3 -u {})", path, path);
  }
  DIR* d = opendir(resolved);
  if (!d) fail("cannot list mount point {}: {}", path, strerror(errno));
  bool empty = true;
  while (dirent* e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  closedir(d);
  if (!empty) fail("mount point {} is not empty; use an empty directory", path);
  return canonical;
}

}  // namespace vdiskfs
