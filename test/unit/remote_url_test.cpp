// parse_remote_url: the nfs:// and smb:// URLs users type as SOURCE.
#include <catch2/catch.hpp>

#include "core/image/error.h"
#include "core/source/remote/remote_url.h"

using vdiskfs::Error;
using vdiskfs::is_remote_url;
using vdiskfs::parse_remote_url;
using vdiskfs::RemoteProtocol;

namespace {

// The message parse_remote_url throws for `typed` ("" if it accepts it).
std::string refusal(const std::string& typed) {
  try {
    parse_remote_url(typed);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("is_remote_url tells share URLs from local paths", "[url]") {
  CHECK(is_remote_url("nfs://host/export"));
  CHECK(is_remote_url("smb://host/share"));
  CHECK(is_remote_url("NFS://host/export"));
  CHECK_FALSE(is_remote_url("/srv/backup"));
  CHECK_FALSE(is_remote_url("backup.tar"));
  CHECK_FALSE(is_remote_url("nfs:/host"));
  CHECK_FALSE(is_remote_url("ftp://host/x"));
  CHECK_FALSE(is_remote_url(""));
}

TEST_CASE("nfs URLs give host, port, export path and libnfs options", "[url]") {
  auto url = parse_remote_url("nfs://127.0.0.1/srv/exp/web01?version=4&nfsport=20490");
  CHECK(url.protocol == RemoteProtocol::nfs);
  CHECK(url.host == "127.0.0.1");
  CHECK(url.port == 0);
  CHECK(url.user.empty());
  CHECK(url.path == "/srv/exp/web01");
  CHECK(url.query == std::map<std::string, std::string>{{"version", "4"}, {"nfsport", "20490"}});
  CHECK(url.text == "nfs://127.0.0.1/srv/exp/web01?version=4&nfsport=20490");

  auto plain = parse_remote_url("nfs://nas.example.com/export");
  CHECK(plain.host == "nas.example.com");
  CHECK(plain.path == "/export");
  CHECK(plain.query.empty());

  // Every option libnfs 4.0 reads from its URLs passes through.
  auto all = parse_remote_url(
      "nfs://h/e?version=3&nfsport=1&mountport=65535&uid=1000&gid=100&tcp-syncnt=2&readahead=0&pagecache=0"
      "&debug=0&auto-traverse-mounts=1&dircache=0&if=eth0");
  CHECK(all.query.size() == 12);
  CHECK(all.query.at("if") == "eth0");
  CHECK(all.query.at("uid") == "1000");
}

TEST_CASE("nfs URLs: the URL's port is the NFS port", "[url]") {
  auto url = parse_remote_url("nfs://127.0.0.1:20490/srv?mountport=20048");
  CHECK(url.port == 20490);
  CHECK(url.query.at("nfsport") == "20490");
  CHECK(url.query.at("mountport") == "20048");
  CHECK(parse_remote_url("nfs://h:2049/e?nfsport=2049").query.at("nfsport") == "2049");
  CHECK_THAT(refusal("nfs://h:2049/e?nfsport=20490"), Catch::Contains("port 2049 and nfsport=20490 disagree"));
}

TEST_CASE("paths are normalized and decoded", "[url]") {
  CHECK(parse_remote_url("nfs://h//srv///exp/").path == "/srv/exp");
  CHECK(parse_remote_url("nfs://h/srv/./exp").path == "/srv/exp");
  CHECK(parse_remote_url("nfs://h/srv/my%20backups/web%2001.tar").path == "/srv/my backups/web 01.tar");
  CHECK(parse_remote_url("smb://h/share/d%C3%A9j%C3%A0").path == "/share/d\xC3\xA9j\xC3\xA0");
  CHECK_THAT(refusal("nfs://h/srv/%2"), Catch::Contains("not followed by two hex digits"));
  CHECK_THAT(refusal("nfs://h/srv/%zz"), Catch::Contains("not followed by two hex digits"));
  CHECK_THAT(refusal("nfs://h/srv/%00x"), Catch::Contains("%00"));
}

TEST_CASE("smb URLs give user, host, port, share and path", "[url]") {
  auto url = parse_remote_url("smb://backup@fileserver:4450/backups/web01");
  CHECK(url.protocol == RemoteProtocol::smb);
  CHECK(url.user == "backup");
  CHECK(url.host == "fileserver");
  CHECK(url.port == 4450);
  CHECK(url.path == "/backups/web01");
  auto guest = parse_remote_url("smb://127.0.0.1/guest");
  CHECK(guest.user.empty());
  CHECK(guest.port == 0);
  CHECK(guest.path == "/guest");
  CHECK(parse_remote_url("smb://DOM%3Bjo@h/s").user == "DOM;jo");
}

TEST_CASE("IPv6 hosts are written in brackets", "[url]") {
  auto url = parse_remote_url("nfs://[::1]:2049/srv");
  CHECK(url.host == "::1");
  CHECK(url.port == 2049);
  CHECK(parse_remote_url("smb://[fe80::1]/s").host == "fe80::1");
  CHECK_THAT(refusal("nfs://[::1/srv"), Catch::Contains("without ']'"));
  CHECK_THAT(refusal("nfs://[::1]x/srv"), Catch::Contains("'x' after the host"));
  CHECK_THAT(refusal("nfs://[host]/srv"), Catch::Contains("is not an IPv6 address"));
}

TEST_CASE("a password in the URL is refused without showing it", "[url]") {
  const std::string said = refusal("smb://backup:S3cret!@fileserver/backups");
  CHECK_THAT(said, Catch::Contains("password"));
  CHECK_THAT(said, Catch::Contains("--credentials FILE"));
  CHECK_THAT(said, Catch::Contains("environment"));
  CHECK_THAT(said, Catch::Contains("smb://backup:***@fileserver/backups"));
  CHECK(said.find("S3cret") == std::string::npos);
  const std::string empty_password = refusal("smb://backup:@h/s");
  CHECK_THAT(empty_password, Catch::Contains("password"));
  const std::string nfs = refusal("nfs://u:pw@h/e");
  CHECK_THAT(nfs, Catch::Contains("password"));
  CHECK(nfs.find("pw@") == std::string::npos);
}

TEST_CASE("malformed URLs are refused naming what is wrong", "[url]") {
  CHECK_THAT(refusal("ftp://h/x"), Catch::Contains("not a share URL"));
  CHECK_THAT(refusal("/srv/x"), Catch::Contains("not a share URL"));
  CHECK_THAT(refusal("nfs:///srv"), Catch::Contains("no host"));
  CHECK_THAT(refusal("nfs://:2049/srv"), Catch::Contains("no host"));
  CHECK_THAT(refusal("smb://user@/s"), Catch::Contains("no host"));
  CHECK_THAT(refusal("nfs://h o/srv"), Catch::Contains("is not a host name"));
  CHECK_THAT(refusal("nfs://h:0/srv"), Catch::Contains("bad port '0'"));
  CHECK_THAT(refusal("nfs://h:65536/srv"), Catch::Contains("bad port '65536'"));
  CHECK_THAT(refusal("nfs://h:nfs/srv"), Catch::Contains("bad port 'nfs'"));
  CHECK_THAT(refusal("nfs://h:/srv"), Catch::Contains("bad port ''"));
  CHECK_THAT(refusal("nfs://h/srv/../etc"), Catch::Contains("'..'"));
  CHECK_THAT(refusal("smb://h/s/a/.."), Catch::Contains("'..'"));
  CHECK_THAT(refusal("nfs://h/srv/%2E%2E/etc"), Catch::Contains("'..'"));
  CHECK_THAT(refusal("nfs://h"), Catch::Contains("no export path"));
  CHECK_THAT(refusal("nfs://h/"), Catch::Contains("no export path"));
  CHECK_THAT(refusal("smb://h/"), Catch::Contains("no share name"));
  CHECK_THAT(refusal("smb://@h/s"), Catch::Contains("'@' without a user name"));
  CHECK_THAT(refusal("nfs://user@h/e"), Catch::Contains("no user name"));
  // Each message names the URL.
  CHECK_THAT(refusal("nfs://h:99999/srv"), Catch::StartsWith("nfs://h:99999/srv: "));
}

TEST_CASE("nfs query options are checked against what libnfs takes", "[url]") {
  CHECK_THAT(refusal("nfs://h/e?version=2"), Catch::Contains("version=2 is not valid"));
  CHECK_THAT(refusal("nfs://h/e?version=4.1"), Catch::Contains("version=4.1 is not valid"));
  CHECK_THAT(refusal("nfs://h/e?nfsport=0"), Catch::Contains("nfsport=0 is not valid"));
  CHECK_THAT(refusal("nfs://h/e?mountport=x"), Catch::Contains("mountport=x is not valid"));
  CHECK_THAT(refusal("nfs://h/e?uid=-1"), Catch::Contains("uid=-1 is not valid"));
  CHECK_THAT(refusal("nfs://h/e?verison=4"), Catch::Contains("unknown query key 'verison'"));
  CHECK_THAT(refusal("nfs://h/e?verison=4"), Catch::Contains("version, nfsport, mountport"));
  CHECK_THAT(refusal("nfs://h/e?version=3&version=4"), Catch::Contains("'version' given twice"));
  CHECK_THAT(refusal("nfs://h/e?version"), Catch::Contains("version needs a value"));
  CHECK_THAT(refusal("nfs://h/e?if="), Catch::Contains("if needs a value"));
  CHECK_THAT(refusal("nfs://h/e?autoreconnect=-1"), Catch::Contains("autoreconnect is not an option here"));
  // Keys are matched without regard to case; empty items are skipped.
  CHECK(parse_remote_url("nfs://h/e?Version=4&&").query.at("version") == "4");
}

TEST_CASE("smb query items are kept for the SMB backend", "[url]") {
  auto url = parse_remote_url("smb://h/s?seal&domain=CORP");
  CHECK(url.query.at("seal").empty());
  CHECK(url.query.at("domain") == "CORP");
}
