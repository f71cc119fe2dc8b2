// The source factory: what the user typed for SOURCE becomes a directory or
// a tar source, with the errors the command line has always given.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "core/image/error.h"
#include "core/source/source_factory.h"
#include "core/source/tar/tar_chain.h"
#include "test_images.h"

using namespace vdiskfs;
using vdiskfs::test::TempDir;
using vdiskfs::test::write_file;

TEST_CASE("a directory opens as a directory source, a regular file as a tar archive") {
  TempDir dir;
  std::filesystem::create_directory(dir / "tree");
  write_file(dir / "tree" / "a", {'x'});
  write_file(dir / "empty.tar", std::vector<uint8_t>(10240, 0));  // what GNU tar writes for no members
  ScanReport report;
  const auto tree = open_source((dir / "tree").string(), ScanOptions{}, report);
  CHECK(tree->describe() == "directory " + (dir / "tree").string());
  CHECK(tree->tree().dirents.size() == 1);
  const auto tar = open_source((dir / "empty.tar").string(), ScanOptions{}, report);
  CHECK(tar->describe() == "tar archive " + (dir / "empty.tar").string());
  CHECK(report.skipped.empty());
}

TEST_CASE("SOURCE is resolved to its canonical path") {
  TempDir dir;
  std::filesystem::create_directory(dir / "tree");
  std::filesystem::create_directory_symlink("tree", dir / "link");
  CHECK(resolve_source((dir / "link" / ".." / "link").string()) == (dir / "tree").string());
  ScanReport report;
  CHECK(open_source((dir / "link").string(), ScanOptions{}, report)->describe() == "directory " + (dir / "tree").string());
}

TEST_CASE("a SOURCE that does not exist is named in the error") {
  TempDir dir;
  const std::string missing = (dir / "missing").string();
  ScanReport report;
  try {
    open_source(missing, ScanOptions{}, report);
    FAIL("a missing source opened");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "source " + missing + " does not exist");
  }
}

TEST_CASE("the help text says what SOURCE may be") {
  CHECK(source_kinds_help() ==
        "a directory, a tar archive (plain, or gzip, zstd, xz or bzip2 compressed: read in place), a chain of GNU tar "
        "--listed-incremental archives (full.tar+incr1.tar+...), or a share: "
        "nfs://host[:port]/export/path[?version=3|4] or smb://[user@]host[:port]/share/path");
}

TEST_CASE("a chain is named after its full backup, and split at '+' unless a file has the whole name") {
  CHECK(source_default_name("/b/web01.tar.gz+/b/web01-1.tar+/b/web01-2.tar") == "web01");
  CHECK(split_chain("/nonexistent/a.tar+/nonexistent/b.tar") ==
        std::vector<std::string>{"/nonexistent/a.tar", "/nonexistent/b.tar"});
  CHECK(split_chain("/nonexistent/a.tar") == std::vector<std::string>{"/nonexistent/a.tar"});
  CHECK_THROWS_AS(split_chain("/nonexistent/a.tar++/nonexistent/b.tar"), Error);
}

TEST_CASE("a share URL names the mount after its last path component") {
  CHECK(source_default_name("nfs://127.0.0.1/export/web01?version=4") == "web01");
  CHECK(source_default_name("nfs://127.0.0.1/export/backups/web01.tar?nfsport=20490") == "web01");
  CHECK(source_default_name("smb://backup@nas/share/db01/") == "db01");
  CHECK(source_default_name("/srv/web01.tar.gz") == "web01");
  CHECK(source_default_name("/srv/web01.tgz") == "web01");
  CHECK(source_default_name("/srv/web01.tar.zst") == "web01");
  CHECK(source_default_name("/srv/web01.tar.xz") == "web01");
}
