// load_credentials: smbclient's authentication file (mode 0600 or stricter,
// the caller's own), the environment, the URL's user, guest; messages that
// name the file and never the password.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "core/image/error.h"
#include "core/source/remote/credentials.h"
#include "test_images.h"

using vdiskfs::Credentials;
using vdiskfs::Error;
using vdiskfs::load_credentials;
using vdiskfs::test::TempDir;

namespace {

constexpr const char* kSecret = "s3cr3t-Pa55word";

// A credentials file with `text` and `mode` in a temp dir.
struct CredFile {
  TempDir dir;
  std::string path = (dir / "auth").string();
  CredFile(const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
  }
};

// The message of the Error that load_credentials throws (the test fails
// when it throws nothing); it must never hold the password.
std::string refusal(const std::string& file, const std::string& url_user = "") {
  try {
    load_credentials(file, url_user);
  } catch (const Error& e) {
    const std::string message = e.what();
    CHECK(message.find(kSecret) == std::string::npos);
    return message;
  }
  FAIL("load_credentials(" << file << ") did not refuse");
  return "";
}

// Sets or clears an environment variable for one test, then restores it.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    value ? ::setenv(name, value, 1) : ::unsetenv(name);
  }
  ~EnvVar() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// No VDISKFS_SMB_* variable for the test's duration, or the ones given.
struct SmbEnv {
  EnvVar user, password, domain;
  SmbEnv(const char* u = nullptr, const char* p = nullptr, const char* d = nullptr)
      : user("VDISKFS_SMB_USER", u), password("VDISKFS_SMB_PASSWORD", p), domain("VDISKFS_SMB_DOMAIN", d) {}
};

}  // namespace

TEST_CASE("a credentials file of mode 0600 gives user, password and domain", "[credentials]") {
  SmbEnv env("envuser", "envpass");
  CredFile f(std::string("# for the backup NAS\n\nusername = alice\npassword =  ") + kSecret +
                 "\r\n  Domain\t= CORP\n",
             0600);
  const Credentials c = load_credentials(f.path, "");
  CHECK(c.user == "alice");
  CHECK(c.password == kSecret);
  CHECK(c.domain == "CORP");
  CHECK(vdiskfs::describe_logon(c) == "user 'CORP\\alice'");
  CHECK(load_credentials(f.path, "bob").user == "bob");  // the URL's user wins
  CHECK(load_credentials(f.path, "bob").password == kSecret);
}

TEST_CASE("a credentials file open to group or others is refused without reading it", "[credentials]") {
  SmbEnv env;
  for (mode_t mode : {0644, 0640, 0604, 0660, 0601}) {
    CredFile f(std::string("username = alice\npassword = ") + kSecret + "\n", mode);
    const std::string message = refusal(f.path);
    CHECK(message.find(f.path) != std::string::npos);
    CHECK(message.find(fmt::format("mode {:04o}", mode)) != std::string::npos);
    CHECK(message.find("chmod 600 " + f.path) != std::string::npos);
  }
  CredFile ok(std::string("username = alice\npassword = ") + kSecret + "\n", 0400);
  CHECK(load_credentials(ok.path, "").user == "alice");
}

TEST_CASE("a credentials file that is not the caller's own regular file is refused", "[credentials]") {
  SmbEnv env;
  TempDir dir;
  CHECK(refusal((dir / "missing").string()).find("cannot open credentials file " + (dir / "missing").string()) !=
        std::string::npos);
  CHECK(refusal(dir.path().string()).find("is not a regular file") != std::string::npos);
  CredFile f(std::string("username = alice\npassword = ") + kSecret + "\n", 0600);
  if (geteuid() != 0) {
    WARN("not root: the case of a file owned by another user is not checked");
    return;
  }
  REQUIRE(::chown(f.path.c_str(), 4242, getegid()) == 0);
  CHECK(refusal(f.path).find("belongs to uid 4242, not to you (uid 0)") != std::string::npos);
}

TEST_CASE("a credentials file line of another form is refused by its number, not its text", "[credentials]") {
  SmbEnv env;
  CredFile f(std::string("username = alice\npasswort = ") + kSecret + "\n", 0600);
  CHECK(refusal(f.path).find("line 2 is not 'username = NAME'") != std::string::npos);
  CredFile bare(std::string("username = alice\n") + kSecret + "\n", 0600);
  CHECK(refusal(bare.path).find("line 2") != std::string::npos);
}

TEST_CASE("a password without a user name is refused", "[credentials]") {
  {
    SmbEnv env;
    CredFile f(std::string("password = ") + kSecret + "\n", 0600);
    CHECK(refusal(f.path).find("gives a password but no user name") != std::string::npos);
    CHECK(load_credentials(f.path, "carol").user == "carol");
  }
  SmbEnv env(nullptr, kSecret);
  CHECK(refusal("").find("VDISKFS_SMB_PASSWORD is set but no user name") != std::string::npos);
}

TEST_CASE("without a file the environment gives the logon, the URL's user wins for the name", "[credentials]") {
  {
    SmbEnv env("dave", kSecret, "LAB");
    Credentials c = load_credentials("", "");
    CHECK((c.user == "dave" && c.password == kSecret && c.domain == "LAB"));
    c = load_credentials("", "erin");
    CHECK((c.user == "erin" && c.password == kSecret));
  }
  {
    SmbEnv env("OFFICE\\frank", kSecret);
    const Credentials c = load_credentials("", "");
    CHECK((c.user == "frank" && c.domain == "OFFICE"));
  }
  SmbEnv env;
  const Credentials guest = load_credentials("", "");
  CHECK((guest.user.empty() && guest.password.empty() && guest.domain.empty()));
  CHECK(vdiskfs::describe_logon(guest) == "guest");
  CHECK(load_credentials("", "gina").user == "gina");
}
