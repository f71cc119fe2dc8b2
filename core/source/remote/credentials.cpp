#include "core/source/remote/credentials.h"

#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/image/error.h"

namespace vdiskfs {
namespace {

// A credentials file is a few lines; anything longer is not one.
constexpr size_t kMaxFileBytes = 64 * 1024;

// Closes a descriptor and wipes a buffer that held a password.
struct SecretFile {
  int fd = -1;
  std::string bytes;
  ~SecretFile() {
    if (fd >= 0) ::close(fd);
    explicit_bzero(bytes.data(), bytes.size());
  }
};

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The file's owner and permission bits must keep it to the caller.
void check_private(const std::string& file, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) fail("credentials file {} is not a regular file", file);
  if (st.st_uid != geteuid())
    fail("credentials file {} belongs to uid {}, not to you (uid {}): make your own copy with mode 0600",
         file, st.st_uid, geteuid());
  if (st.st_mode & 077)
    fail("credentials file {} has mode {:04o}: group or others may read it; make it yours alone: chmod 600 {}",
         file, st.st_mode & 07777, file);
}

// The bytes of `file`, after the checks of check_private.
void read_private(const std::string& file, SecretFile& out) {
  out.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (out.fd < 0) fail("cannot open credentials file {}: {}", file, std::strerror(errno));
  struct stat st;
  if (fstat(out.fd, &st) != 0) fail("cannot stat credentials file {}: {}", file, std::strerror(errno));
  check_private(file, st);
  if (uint64_t(st.st_size) > kMaxFileBytes)
    fail("credentials file {} holds {} bytes: not a credentials file (a few lines)", file, st.st_size);
  out.bytes.resize(kMaxFileBytes + 1);
  size_t got = 0;
  for (;;) {
    const ssize_t n = ::read(out.fd, out.bytes.data() + got, out.bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read credentials file {}: {}", file, std::strerror(errno));
    if (n == 0 || (got += size_t(n)) > kMaxFileBytes) break;
  }
  if (got > kMaxFileBytes) fail("credentials file {} is longer than {} bytes", file, kMaxFileBytes);
  out.bytes.resize(got);
}

// One "key = value" line into `c`; the line's number for messages.
void parse_line(const std::string& file, size_t number, std::string_view line, Credentials& c) {
  const size_t eq = line.find('=');
  const std::string_view key = trim_blanks(line.substr(0, eq == line.npos ? 0 : eq));
  const std::string_view value = trim_blanks(line.substr(eq == line.npos ? line.size() : eq + 1));
  const auto is = [&](const char* name) {
    return key.size() == std::strlen(name) && strncasecmp(key.data(), name, key.size()) == 0;
  };
  if (is("username"))
    c.user = value;
  else if (is("password"))
    c.password = value;
  else if (is("domain"))
    c.domain = value;
  else
    fail("credentials file {}: line {} is not 'username = NAME', 'password = SECRET' or 'domain = DOMAIN'",
         file, number);
}

Credentials parse_file(const std::string& file) {
  SecretFile f;
  read_private(file, f);
  Credentials c;
  std::string_view rest = f.bytes;
  for (size_t number = 1; !rest.empty(); ++number) {
    const size_t end = std::min(rest.find('\n'), rest.size());
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    const std::string_view text = trim_blanks(line);
    if (!text.empty() && text.front() != '#') parse_line(file, number, line, c);
  }
  return c;
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// "DOMAIN\NAME" names the domain too, as smbclient takes it.
void split_domain(Credentials& c) {
  const size_t slash = c.user.find('\\');
  if (slash == std::string::npos) return;
  if (c.domain.empty()) c.domain = c.user.substr(0, slash);
  c.user.erase(0, slash + 1);
}

}  // namespace

Credentials load_credentials(const std::string& file, const std::string& url_user) {
  Credentials c;
  if (!file.empty()) {
    c = parse_file(file);
  } else {
    c.user = env_or_empty("VDISKFS_SMB_USER");
    c.password = env_or_empty("VDISKFS_SMB_PASSWORD");
    c.domain = env_or_empty("VDISKFS_SMB_DOMAIN");
  }
  if (!url_user.empty()) c.user = url_user;
  split_domain(c);
  if (c.user.empty() && !c.password.empty()) {
    if (!file.empty())
      fail("credentials file {} gives a password but no user name: add 'username = NAME' to it, "
           "or name the user in the URL (smb://NAME@host/share)", file);
    fail("VDISKFS_SMB_PASSWORD is set but no user name: set VDISKFS_SMB_USER, "
         "or name the user in the URL (smb://NAME@host/share)");
  }
  return c;
}

std::string describe_logon(const Credentials& credentials) {
  if (credentials.user.empty()) return "guest";
  if (credentials.domain.empty()) return "user '" + credentials.user + "'";
  return "user '" + credentials.domain + "\\" + credentials.user + "'";
}

}  // namespace vdiskfs
