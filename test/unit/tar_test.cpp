// TarSource and TreeBuilder: what a tar archive's members become in the
// Tree (types, modes, owners, nanosecond times, links, sparse maps), reads
// of the archived bytes in place, refusal of hostile paths (absolute, '..',
// through a symlink), replacement as extraction does it, clear errors for
// archives that are not usable, and EIO-style answers once the archive
// changes. Archives are written by GNU tar and by python3's tarfile module
// (which can write what GNU tar would refuse to), or patched by hand.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/image/error.h"
#include "core/source/tar/tar_acl.h"
#include "core/source/tar/tar_fields.h"
#include "core/source/tar/tar_header.h"
#include "core/source/tar/tar_source.h"
#include "core/source/tree_builder.h"
#include "test_images.h"

using namespace vdiskfs;
using vdiskfs::test::all_zero;
using vdiskfs::test::pattern_bytes;
using vdiskfs::test::child_names;
using vdiskfs::test::TempDir;
using vdiskfs::test::write_file;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& p, const std::string& text) {
  write_file(p, std::vector<uint8_t>(text.begin(), text.end()));
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// Runs a shell command; the test fails if it does not exit 0.
void sh(const std::string& cmd) {
  INFO("command: " << cmd);
  REQUIRE(std::system(cmd.c_str()) == 0);
}

// Runs a python3 script in `dir` with `add(t, name, data=b"", **attrs)`
// defined: adds a member built from TarInfo attributes to the open
// tarfile `t` (data only for regular files).
void python(const TempDir& dir, const std::string& script) {
  write_text(dir / "gen.py",
             "import tarfile, io, os\n"
             "from tarfile import REGTYPE, LNKTYPE, SYMTYPE, CHRTYPE, BLKTYPE, DIRTYPE, FIFOTYPE\n"
             "def add(t, name, data=b'', **kw):\n"
             "    ti = tarfile.TarInfo(name)\n"
             "    for k, v in kw.items(): setattr(ti, k, v)\n"
             "    if ti.type == REGTYPE:\n"
             "        ti.size = len(data)\n"
             "        t.addfile(ti, io.BytesIO(data))\n"
             "    else:\n"
             "        t.addfile(ti)\n" +
                 script);
  sh("cd '" + dir.path().string() + "' && /usr/bin/python3 gen.py");
}

struct Opened {
  std::unique_ptr<TarSource> src;
  ScanReport report;
};

Opened open_tar(const fs::path& p, bool strict = false, bool xattrs = true) {
  ScanOptions o;
  o.strict = strict;
  o.xattrs = xattrs;
  Opened r;
  r.src = TarSource::open(p.string(), o, r.report);
  return r;
}

std::string skipped_list(const ScanReport& r) {
  std::string s;
  for (const std::string& line : r.skipped) s += "  " + line + "\n";
  return s;
}

Status read_all(const Source& s, uint32_t node, std::vector<uint8_t>& out) {
  out.assign(s.tree().nodes[node].size, 0);
  return s.read_file(node, 0, out.data(), out.size());
}

std::string read_string(const Source& s, std::string_view path) {
  const uint32_t node = s.tree().lookup(path);
  INFO("path " << path);
  REQUIRE(node != kNoIndex);
  REQUIRE(s.tree().nodes[node].is_regular());
  std::vector<uint8_t> bytes;
  REQUIRE(read_all(s, node, bytes) == Status::ok);
  return std::string(bytes.begin(), bytes.end());
}

int64_t stat_mtime_ns(const fs::path& p) {
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

// The tree must hold exactly what is under `dir` (a tree extracted by GNU
// tar, or the tree that was packed): the same names, types, permission
// bits, owners, file bytes, symlink targets and device numbers, and the
// same grouping of names into hard-linked files. Times are not compared.
void check_matches_dir(const Source& s, const fs::path& dir) {
  const Tree& t = s.tree();
  std::map<ino_t, uint32_t> node_of_ino;
  std::map<uint32_t, ino_t> ino_of_node;
  std::vector<std::pair<uint32_t, fs::path>> todo{{0, dir}};
  size_t names = 0;
  while (!todo.empty()) {
    auto [node, path] = todo.back();
    todo.pop_back();
    const Node& d = t.nodes[node];
    REQUIRE(d.is_dir());
    std::set<std::string> on_disk, in_tree;
    for (const auto& e : fs::directory_iterator(path)) on_disk.insert(e.path().filename().string());
    for (const std::string& n : child_names(t, node)) in_tree.insert(n);
    INFO("directory " << path);
    CHECK(in_tree == on_disk);
    for (uint32_t i = t.child_begin(d); i < t.child_begin(d) + t.child_count(d); ++i) {
      const Dirent& de = t.dirents[i];
      const fs::path p = path / std::string(t.name(de));
      if (!on_disk.count(std::string(t.name(de)))) continue;
      ++names;
      INFO("entry " << p);
      struct stat st;
      REQUIRE(::lstat(p.c_str(), &st) == 0);
      const Node& n = t.nodes[de.node];
      CHECK((n.mode & S_IFMT) == (st.st_mode & S_IFMT));
      CHECK((n.mode & 07777) == (st.st_mode & 07777));
      CHECK(n.uid == st.st_uid);
      CHECK(n.gid == st.st_gid);
      if (S_ISDIR(st.st_mode)) {
        CHECK(n.nlink == st.st_nlink);
        todo.emplace_back(de.node, p);
        continue;
      }
      // One node per inode, one inode per node.
      auto [it1, new_ino] = node_of_ino.emplace(st.st_ino, de.node);
      auto [it2, new_node] = ino_of_node.emplace(de.node, st.st_ino);
      CHECK(it1->second == de.node);
      CHECK(it2->second == st.st_ino);
      CHECK(new_ino == new_node);
      CHECK(n.nlink == st.st_nlink);
      if (S_ISREG(st.st_mode)) {
        REQUIRE(n.size == uint64_t(st.st_size));
        std::vector<uint8_t> got;
        REQUIRE(read_all(s, de.node, got) == Status::ok);
        CHECK(got == read_bytes(p));
      } else if (S_ISLNK(st.st_mode)) {
        CHECK(t.link_target(n) == fs::read_symlink(p).string());
      } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
        CHECK(n.aux == st.st_rdev);
      }
    }
  }
  CHECK(names == t.dirents.size());  // every name of the tree is on disk
}

// A sparse file: `size` bytes with the given data ranges, holes elsewhere.
void make_sparse(const fs::path& p, uint64_t size, const std::vector<std::pair<uint64_t, size_t>>& data,
                 uint32_t seed) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  for (const auto& [off, len] : data) {
    const std::vector<uint8_t> bytes = pattern_bytes(len, seed++);
    REQUIRE(pwrite(fd, bytes.data(), len, off_t(off)) == ssize_t(len));
  }
  REQUIRE(ftruncate(fd, off_t(size)) == 0);
  close(fd);
}

}  // namespace

TEST_CASE("tar members keep type, mode, owners, nanosecond times, size, link target and link count") {
  TempDir dir;
  python(dir, R"(
t = tarfile.open("a.tar", "w", format=tarfile.PAX_FORMAT)
add(t, "dir", type=DIRTYPE, mode=0o750, uid=11, gid=12, mtime=1600000000)
add(t, "dir/file", b"hello tar\n", mode=0o4755, uid=1234, gid=5678,
    pax_headers={"mtime": "1700000000.123456789", "atime": "1700000001.5", "ctime": "1700000002.000000001"})
add(t, "dir/link", type=SYMTYPE, linkname="file", mode=0o777, mtime=1500000000)
add(t, "hard", type=LNKTYPE, linkname="dir/file")
add(t, "fifo", type=FIFOTYPE, mode=0o600, uid=7, gid=8)
add(t, "null", type=CHRTYPE, devmajor=1, devminor=3, mode=0o666)
add(t, "sda", type=BLKTYPE, devmajor=8, devminor=17, mode=0o660, gid=6)
add(t, "old", b"x", pax_headers={"mtime": "-1.5"})
add(t, "empty", b"", mode=0o400, mtime=1234567890)
t.close()
)");
  auto [src, report] = open_tar(dir / "a.tar");
  INFO(skipped_list(report));
  CHECK(report.skipped.empty());
  const Tree& t = src->tree();
  CHECK(child_names(t, 0) == std::vector<std::string>{"dir", "empty", "fifo", "hard", "null", "old", "sda"});

  const uint32_t d = t.lookup("dir");
  REQUIRE(d != kNoIndex);
  CHECK(t.nodes[d].mode == (S_IFDIR | 0750));
  CHECK(t.nodes[d].uid == 11);
  CHECK(t.nodes[d].gid == 12);
  CHECK(t.nodes[d].mtime == Timestamp::from_ns(1600000000LL * 1000000000));
  CHECK(t.nodes[d].nlink == 2);
  CHECK(t.nodes[0].nlink == 3);  // ".", its own name, dir's ".."

  const uint32_t f = t.lookup("dir/file");
  REQUIRE(f != kNoIndex);
  const Node& fn = t.nodes[f];
  CHECK(fn.mode == (S_IFREG | 04755));
  CHECK(fn.uid == 1234);
  CHECK(fn.gid == 5678);
  CHECK(fn.size == 10);
  CHECK(fn.mtime == Timestamp::from_ns(1700000000123456789LL));
  CHECK(fn.atime == Timestamp::from_ns(1700000001500000000LL));
  CHECK(fn.ctime == Timestamp::from_ns(1700000002000000001LL));
  CHECK(fn.nlink == 2);
  CHECK(t.lookup("hard") == f);
  CHECK(read_string(*src, "hard") == "hello tar\n");

  const uint32_t l = t.lookup("dir/link");
  REQUIRE(l != kNoIndex);
  CHECK(t.nodes[l].mode == (S_IFLNK | 0777));
  CHECK(t.link_target(t.nodes[l]) == "file");
  CHECK(t.nodes[l].size == 4);
  CHECK(t.nodes[l].mtime == Timestamp::from_ns(1500000000LL * 1000000000));
  CHECK(t.nodes[l].nlink == 1);

  const Node& fifo = t.nodes[t.lookup("fifo")];
  CHECK(fifo.mode == (S_IFIFO | 0600));
  CHECK(fifo.uid == 7);
  CHECK(fifo.gid == 8);
  CHECK(fifo.size == 0);
  const Node& null = t.nodes[t.lookup("null")];
  CHECK(null.mode == (S_IFCHR | 0666));
  CHECK(null.aux == makedev(1, 3));
  const Node& sda = t.nodes[t.lookup("sda")];
  CHECK(sda.mode == (S_IFBLK | 0660));
  CHECK(sda.gid == 6);
  CHECK(sda.aux == makedev(8, 17));

  CHECK(t.nodes[t.lookup("old")].mtime == Timestamp::from_ns(-1500000000LL));
  const Node& empty = t.nodes[t.lookup("empty")];
  CHECK(empty.mode == (S_IFREG | 0400));
  CHECK(empty.size == 0);
  CHECK(empty.mtime == Timestamp::from_ns(1234567890LL * 1000000000));

  // The root was never named: an implied directory with the archive's time.
  CHECK(t.nodes[0].mode == (S_IFDIR | 0755));
  CHECK(t.nodes[0].uid == 0);
  CHECK(t.nodes[0].mtime == Timestamp::from_ns(stat_mtime_ns(dir / "a.tar")));
  CHECK(src->describe() == "tar archive " + (dir / "a.tar").string());
}

TEST_CASE("GNU tar archives (gnu and posix) read back as the tree that was packed") {
  const std::string format = GENERATE(as<std::string>{}, "gnu", "posix", "ustar");
  INFO("format " << format);
  TempDir dir;
  const fs::path tree = dir / "tree";
  fs::create_directories(tree / "sub" / "deeper");
  const size_t sizes[] = {0, 1, 511, 512, 513, 4096, 100000, 1 << 20};
  for (size_t i = 0; i < std::size(sizes); ++i)
    write_file(tree / ("f" + std::to_string(sizes[i])), pattern_bytes(sizes[i], uint32_t(i + 1)));
  write_file(tree / "sub" / "deeper" / "data", pattern_bytes(70001, 99));
  fs::create_hard_link(tree / "f513", tree / "sub" / "hard");
  fs::create_symlink("../f1", tree / "sub" / "rel-link");
  fs::create_symlink("/etc/passwd", tree / "abs-link");
  REQUIRE(mkfifo((tree / "fifo").c_str(), 0640) == 0);
  REQUIRE(mknod((tree / "chr").c_str(), S_IFCHR | 0600, makedev(4, 5)) == 0);
  REQUIRE(chown((tree / "f4096").c_str(), 4321, 8765) == 0);
  REQUIRE(chmod((tree / "f511").c_str(), 02751) == 0);
  if (format != "ustar") {
    // Beyond ustar's 100 + 155 byte name fields: GNU 'L'/'K' or pax records.
    const std::string long_name(200, 'n');
    write_file(tree / "sub" / long_name, pattern_bytes(3000, 5));
    fs::create_symlink(std::string(150, 't') + "/target", tree / "sub" / "long-target");
  }
  // A name that needs ustar's prefix field (more than 100 bytes in all).
  const fs::path longdir = tree / std::string(90, 'd');
  fs::create_directories(longdir);
  write_file(longdir / (std::string(60, 'e')), pattern_bytes(777, 6));
  const struct timespec times[2] = {{1600000000, 111111111}, {1650000000, 987654321}};
  REQUIRE(utimensat(AT_FDCWD, (tree / "f100000").c_str(), times, 0) == 0);

  sh("tar --format=" + format + " --numeric-owner -C '" + tree.string() + "' -cf '" + (dir / "a.tar").string() + "' .");
  auto [src, report] = open_tar(dir / "a.tar");
  INFO(skipped_list(report));
  CHECK(report.skipped.empty());
  check_matches_dir(*src, tree);

  const Tree& t = src->tree();
  const Node& timed = t.nodes[t.lookup("f100000")];
  // Nanoseconds survive in pax records; gnu and ustar keep whole seconds.
  CHECK(timed.mtime == Timestamp::from_ns((format == "posix" ? 1650000000987654321LL : 1650000000LL * 1000000000)));

  // Reads inside a file, across block boundaries of the archive.
  const uint32_t big = t.lookup("f1048576");
  REQUIRE(big != kNoIndex);
  const std::vector<uint8_t> want = pattern_bytes(1 << 20, 8);
  for (uint64_t off : {uint64_t(0), uint64_t(1), uint64_t(511), uint64_t(512), uint64_t(300000), uint64_t((1 << 20) - 1000)}) {
    std::vector<uint8_t> got(1000);
    REQUIRE(src->read_file(big, off, got.data(), got.size()) == Status::ok);
    CHECK(std::equal(got.begin(), got.end(), want.begin() + long(off)));
  }
}

TEST_CASE("GNU long names, ustar prefixes, base-256 and pax ids, negative base-256 times") {
  TempDir dir;
  python(dir, R"(
long = "l" * 180
with tarfile.open("gnu.tar", "w", format=tarfile.GNU_FORMAT) as t:
    add(t, "dir/" + long, b"long name", uid=3000000, gid=2**31 + 5)
    add(t, "sym", type=SYMTYPE, linkname="t" * 150)
    add(t, "before1970", b"x", mtime=-100)
with tarfile.open("pax.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "dir/" + long, b"long name", uid=3000000, gid=4000000000)
    add(t, "sym", type=SYMTYPE, linkname="t" * 150)
with tarfile.open("ustar.tar", "w", format=tarfile.USTAR_FORMAT) as t:
    add(t, "p" * 120 + "/" + "q" * 90, b"prefixed")
)");
  const std::string long_name(180, 'l');
  for (const char* name : {"gnu.tar", "pax.tar"}) {
    INFO(name);
    auto [src, report] = open_tar(dir / name);
    INFO(skipped_list(report));
    CHECK(report.skipped.empty());
    const Tree& t = src->tree();
    const uint32_t f = t.lookup("dir/" + long_name);
    REQUIRE(f != kNoIndex);
    CHECK(read_string(*src, "dir/" + long_name) == "long name");
    CHECK(t.nodes[f].uid == 3000000);  // beyond the 7 octal digits of the field
    CHECK(t.nodes[f].gid == (std::string(name) == "gnu.tar" ? 2147483653u : 4000000000u));
    const uint32_t s = t.lookup("sym");
    REQUIRE(s != kNoIndex);
    CHECK(t.link_target(t.nodes[s]) == std::string(150, 't'));
  }
  {
    auto [src, report] = open_tar(dir / "gnu.tar");
    CHECK(src->tree().nodes[src->tree().lookup("before1970")].mtime == Timestamp::from_ns(-100LL * 1000000000));
  }
  auto [src, report] = open_tar(dir / "ustar.tar");
  CHECK(read_string(*src, std::string(120, 'p') + "/" + std::string(90, 'q')) == "prefixed");
}

TEST_CASE("pax xattrs are carried unless turned off; labels are skipped, unknown types are regular files") {
  TempDir dir;
  python(dir, R"(
with tarfile.open("x.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "label", type=b"V")
    add(t, "f", b"data", pax_headers={"SCHILY.xattr.user.color": "blue", "SCHILY.xattr.security.selinux": "ctx"})
    ti = tarfile.TarInfo("weird")   # GNU tar and bsdtar extract an unknown type as a regular file
    ti.type = b"Q"
    ti.size = 3
    t.addfile(ti, io.BytesIO(b"qqq"))
    add(t, "g", b"more")
)");
  auto [src, report] = open_tar(dir / "x.tar");
  const Tree& t = src->tree();
  CHECK(child_names(t, 0) == std::vector<std::string>{"f", "g", "weird"});
  REQUIRE(report.skipped.size() == 1);
  CHECK_THAT(report.skipped[0], Catch::StartsWith("label: ") && Catch::Contains("volume label"));
  CHECK(t.nodes[t.lookup("weird")].is_regular());
  CHECK(read_string(*src, "weird") == "qqq");
  const uint32_t f = t.lookup("f");
  auto [b, e] = t.xattrs_of(f);
  std::map<std::string, std::string> got;
  for (const Xattr* x = b; x != e; ++x) got[std::string(t.xattr_name(*x))] = t.xattr_value(*x);
  CHECK(got == std::map<std::string, std::string>{{"security.selinux", "ctx"}, {"user.color", "blue"}});
  CHECK(read_string(*src, "g") == "more");

  auto plain = open_tar(dir / "x.tar", false, /*xattrs=*/false);
  auto [b2, e2] = plain.src->tree().xattrs_of(plain.src->tree().lookup("f"));
  CHECK(b2 == e2);
  // --strict refuses what would be skipped.
  REQUIRE_THROWS_WITH(open_tar(dir / "x.tar", true), Catch::Contains("label") && Catch::Contains("volume label"));
}

TEST_CASE("hostile member paths are skipped and listed, never in the tree; --strict refuses them") {
  TempDir dir;
  // Each hostile member, with the reason the report must give.
  struct Case {
    const char* python;  // adds the member to `t`
    const char* member;
    const char* why;
  };
  const Case cases[] = {
      {R"(add(t, "/abs-file", b"evil"))", "/abs-file", "absolute path refused"},
      {R"(add(t, "/", type=DIRTYPE, mode=0o777))", "/", "absolute path refused"},
      {R"(add(t, "../escape", b"evil"))", "../escape", "'..'"},
      {R"(add(t, "good/../../escape2", b"evil"))", "good/../../escape2", "'..'"},
      {R"(add(t, "good/./../x", b"evil"))", "good/./../x", "'..'"},
      {R"(add(t, "link/passwd", b"evil"))", "link/passwd", "a parent (link) is not a directory"},
      {R"(add(t, "good/up/x", b"evil"))", "good/up/x", "a parent (up) is not a directory"},
      {R"(add(t, "good/file/x", b"evil"))", "good/file/x", "a parent (file) is not a directory"},
      {R"(add(t, "hl/x", b"evil"))", "hl/x", "a parent (hl) is not a directory"},
      {R"(add(t, "hl-missing", type=LNKTYPE, linkname="nowhere"))", "hl-missing", "not in the archive before it"},
      {R"(add(t, "hl-later", type=LNKTYPE, linkname="later"))", "hl-later", "not in the archive before it"},
      {R"(add(t, "hl-abs", type=LNKTYPE, linkname="/etc/shadow"))", "hl-abs", "link target: absolute path refused"},
      {R"(add(t, "hl-dotdot", type=LNKTYPE, linkname="good/../../x"))", "hl-dotdot", "link target: path with '..'"},
      {R"(add(t, "hl-through", type=LNKTYPE, linkname="link/passwd"))", "hl-through", "not in the archive before it"},
      {R"(add(t, "hl-dir", type=LNKTYPE, linkname="good"))", "hl-dir", "hard link to a directory"},
      {R"(add(t, "/abs-hl", type=LNKTYPE, linkname="good/file"))", "/abs-hl", "absolute path refused"},
      {R"(add(t, "link", type=LNKTYPE, linkname="good/file"); add(t, "link/y", b"evil"))", "link/y",
       "a parent (link) is not a directory"},
  };
  // Every archive holds the good members, the hostile one, then more good ones.
  std::string script;
  for (size_t i = 0; i < std::size(cases); ++i) {
    script += "with tarfile.open('h" + std::to_string(i) + ".tar', 'w', format=tarfile.PAX_FORMAT) as t:\n";
    script += "    add(t, 'good/file', b'good')\n";
    script += "    add(t, 'link', type=SYMTYPE, linkname='/etc')\n";
    script += "    add(t, 'good/up', type=SYMTYPE, linkname='..')\n";
    script += "    add(t, 'hl', type=LNKTYPE, linkname='good/file')\n";
    script += "    " + std::string(cases[i].python) + "\n";
    script += "    add(t, 'later', b'good too')\n";
  }
  python(dir, script);
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    const fs::path tar = dir / ("h" + std::to_string(i) + ".tar");
    INFO("hostile member " << c.member);
    auto [src, report] = open_tar(tar);
    INFO(skipped_list(report));
    REQUIRE(report.skipped.size() == 1);
    CHECK_THAT(report.skipped[0], Catch::StartsWith(std::string(c.member) + ": ") && Catch::Contains(c.why) &&
                                      Catch::Contains("header at offset"));
    const Tree& t = src->tree();
    // The good members are there...
    CHECK(read_string(*src, "good/file") == "good");
    CHECK(read_string(*src, "later") == "good too");
    CHECK(t.lookup("hl") == t.lookup("good/file"));
    // ... and nothing else: no name anywhere but the good ones, and no
    // file holds the hostile bytes.
    const bool link_replaced = std::string(c.member) == "link/y";  // "link" became a hard link to good/file
    CHECK(child_names(t, 0) == std::vector<std::string>{"good", "hl", "later", "link"});
    CHECK(child_names(t, t.lookup("good")) == std::vector<std::string>{"file", "up"});
    CHECK(t.nodes[t.lookup("link")].is_symlink() == !link_replaced);
    CHECK(t.nodes[0].mode == (S_IFDIR | 0755));  // "/" did not become the root
    for (uint32_t n = 0; n < t.nodes.size(); ++n) {
      if (!t.nodes[n].is_regular()) continue;
      std::vector<uint8_t> bytes;
      REQUIRE(read_all(*src, n, bytes) == Status::ok);
      CHECK(std::string(bytes.begin(), bytes.end()) != "evil");
    }
    // --strict: the open fails, naming the archive, the member and why.
    REQUIRE_THROWS_AS(open_tar(tar, true), Error);
    REQUIRE_THROWS_WITH(open_tar(tar, true), Catch::Contains(tar.string()) &&
                                                 Catch::Contains(std::string("member ") + c.member + ": ") &&
                                                 Catch::Contains(c.why));
  }
}

TEST_CASE("a later member replaces an earlier one as extraction would; parents are implied") {
  TempDir dir;
  python(dir, R"(
with tarfile.open("r.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "a", b"first")
    add(t, "d/x", b"x", mtime=5)
    add(t, "a", b"second version", mode=0o600)
    add(t, "d", type=DIRTYPE, mode=0o700, uid=3)         # the implied d: attributes set, child kept
    add(t, "f", b"file")
    add(t, "f", type=DIRTYPE, mode=0o755)                # a file replaced by a directory
    add(t, "f/inner", b"in")
    add(t, "s", type=SYMTYPE, linkname="a")
    add(t, "s", b"now a file")                           # a symlink replaced by a file
    add(t, "deep/er/file", b"z")
    add(t, "orig", b"old content")                       # a hard-linked file replaced:
    add(t, "link", type=LNKTYPE, linkname="orig")        # the link keeps the old file
    add(t, "orig", b"new content!")
    add(t, "c", b"ccc")                                  # a hard-linked name becomes a link elsewhere
    add(t, "h1", b"aaa")
    add(t, "h2", type=LNKTYPE, linkname="h1")
    add(t, "h1", type=LNKTYPE, linkname="c")
    add(t, "g", b"ggg")                                  # a hard-linked file replaced by a directory
    add(t, "g2", type=LNKTYPE, linkname="g")
    add(t, "g", type=DIRTYPE, mode=0o755)
    add(t, "g/k", b"k")
    add(t, "m", b"mmm")                                  # link, then the link's own name replaced
    add(t, "m2", type=LNKTYPE, linkname="m")
    add(t, "m2", b"m2 alone")
)");
  auto [src, report] = open_tar(dir / "r.tar");
  INFO(skipped_list(report));
  CHECK(report.skipped.empty());
  const Tree& t = src->tree();
  CHECK(read_string(*src, "a") == "second version");
  CHECK(t.nodes[t.lookup("a")].mode == (S_IFREG | 0600));
  CHECK(t.nodes[t.lookup("d")].mode == (S_IFDIR | 0700));
  CHECK(t.nodes[t.lookup("d")].uid == 3);
  CHECK(read_string(*src, "d/x") == "x");
  CHECK(t.nodes[t.lookup("f")].is_dir());
  CHECK(read_string(*src, "f/inner") == "in");
  CHECK(read_string(*src, "s") == "now a file");
  for (const char* implied : {"deep", "deep/er"}) {
    const uint32_t n = t.lookup(implied);
    REQUIRE(n != kNoIndex);
    CHECK(t.nodes[n].mode == (S_IFDIR | 0755));
    CHECK(t.nodes[n].uid == 0);
    CHECK(t.nodes[n].gid == 0);
    CHECK(t.nodes[n].mtime == Timestamp::from_ns(stat_mtime_ns(dir / "r.tar")));
  }
  CHECK(read_string(*src, "deep/er/file") == "z");
  CHECK(read_string(*src, "orig") == "new content!");
  CHECK(read_string(*src, "link") == "old content");
  CHECK(read_string(*src, "h2") == "aaa");
  CHECK(read_string(*src, "h1") == "ccc");
  CHECK(t.lookup("h1") == t.lookup("c"));
  CHECK(t.nodes[t.lookup("c")].nlink == 2);
  CHECK(t.nodes[t.lookup("h2")].nlink == 1);
  CHECK(read_string(*src, "g2") == "ggg");
  CHECK(t.nodes[t.lookup("g")].is_dir());
  CHECK(read_string(*src, "g/k") == "k");
  CHECK(read_string(*src, "m") == "mmm");
  CHECK(read_string(*src, "m2") == "m2 alone");
  CHECK(t.nodes[t.lookup("m")].nlink == 1);
  for (const Node& n : t.nodes) CHECK((n.mode & S_IFMT) != 0);

  // GNU tar extracts the same archive to the same tree.
  fs::create_directory(dir / "x");
  sh("tar --numeric-owner -xf '" + (dir / "r.tar").string() + "' -C '" + (dir / "x").string() + "'");
  check_matches_dir(*src, dir / "x");
}

TEST_CASE("TreeBuilder: replacing entries keeps hard links, directories and later children consistent") {
  Node implied;
  implied.mode = S_IFDIR | 0755;
  auto file = [](uint64_t payload) {
    EntrySpec s;
    s.attrs.mode = S_IFREG | 0644;
    s.payload = payload;
    return s;
  };
  auto dir = [] {
    EntrySpec s;
    s.attrs.mode = S_IFDIR | 0755;
    return s;
  };
  auto symlink = [](std::string target) {
    EntrySpec s;
    s.attrs.mode = S_IFLNK | 0777;
    s.link_target = std::move(target);
    return s;
  };
  std::vector<uint64_t> payloads;

  SECTION("a directory replaced by a symlink, then by a directory again, takes new children") {
    TreeBuilder b(implied);
    CHECK(b.add("d/f", file(1)) == "");
    CHECK(b.add("d", symlink("/etc")) == "");
    CHECK(b.add("d/g", file(2)) == "a parent (d) is not a directory");
    // The old d/f went with the directory: no link can reach it now.
    CHECK(b.add_hard_link("h", "d/f") != "");
    CHECK(b.add("d", dir()) == "");
    CHECK(b.add("d/f", file(3)) == "");
    const Tree t = b.finish(payloads);
    const uint32_t f = t.lookup("d/f");
    REQUIRE(f != kNoIndex);
    CHECK(payloads[f] == 3);
    CHECK(t.lookup("h") == kNoIndex);
    CHECK(t.child_count(t.nodes[t.lookup("d")]) == 1);
  }
  SECTION("a directory replaced by a hard link loses its children") {
    TreeBuilder b(implied);
    CHECK(b.add("x", file(7)) == "");
    CHECK(b.add("d/f", file(1)) == "");
    CHECK(b.add_hard_link("d", "x") == "");
    CHECK(b.add_hard_link("h", "d/f") != "");
    CHECK(b.add("d/f", file(2)) == "a parent (d) is not a directory");
    const Tree t = b.finish(payloads);
    CHECK(t.lookup("d") == t.lookup("x"));
    CHECK(t.nodes[t.lookup("x")].nlink == 2);
    CHECK(t.nodes.size() == 2);
  }
  SECTION("hard links keep the file they named when its name is reused") {
    TreeBuilder b(implied);
    CHECK(b.add("a", file(1)) == "");
    CHECK(b.add_hard_link("b", "a") == "");
    CHECK(b.add_hard_link("c", "b") == "");  // a link to a link names the file
    CHECK(b.add("a", symlink("elsewhere")) == "");
    CHECK(b.add_hard_link("a", "a") == "");  // a link to itself names nothing new
    const Tree t = b.finish(payloads);
    const uint32_t bn = t.lookup("b");
    CHECK(t.lookup("c") == bn);
    CHECK(t.nodes[bn].is_regular());
    CHECK(t.nodes[bn].nlink == 2);
    CHECK(payloads[bn] == 1);
    CHECK(t.nodes[t.lookup("a")].is_symlink());
    CHECK(t.nodes[t.lookup("a")].nlink == 1);
    CHECK(t.child_count(t.nodes[0]) == 3);
    CHECK(t.dirents.size() == 3);
  }
  SECTION("paths are normalized and checked") {
    std::vector<std::string_view> parts;
    CHECK(normalize_entry_path("./a//b/./c/", parts) == "");
    CHECK(parts == std::vector<std::string_view>{"a", "b", "c"});
    CHECK(normalize_entry_path("/a", parts) == "absolute path refused");
    CHECK(normalize_entry_path("a/../b", parts) == "path with '..' refused");
    CHECK(normalize_entry_path("..", parts) == "path with '..' refused");
    CHECK(normalize_entry_path("a/" + std::string(256, 'x'), parts) == "a name longer than 255 bytes");
    CHECK(normalize_entry_path("./", parts) == "");
    CHECK(parts.empty());
    TreeBuilder b(implied);
    CHECK(b.add(".", file(1)) == "the root entry is not a directory");
    CHECK(b.add_hard_link("./", "x") != "");
  }
}

TEST_CASE("unusable archives are refused with a message naming the file and the problem") {
  TempDir dir;
  // Two members: headers at 0 and 1024 (the first holds 5 bytes), the second
  // member's 2000 bytes at 1536.
  python(dir, R"(
with tarfile.open("ok.tar", "w", format=tarfile.USTAR_FORMAT) as t:
    add(t, "one", b"11111")
    add(t, "two", b"2" * 2000)
with tarfile.open("negsize.tar", "w", format=tarfile.GNU_FORMAT) as t:
    ti = tarfile.TarInfo("neg")
    ti.size = -1          # base-256 0xff...ff
    t.addfile(ti)
with tarfile.open("badtime.tar", "w", format=tarfile.USTAR_FORMAT) as t:
    add(t, "garbled", b"x", mtime=5)
b = bytearray(open("badtime.tar", "rb").read())
b[136:148] = b"12x456701234"           # a letter right after octal digits
b[148:156] = b" " * 8
b[148:156] = b"%06o\0 " % sum(b[:512])
open("badtime.tar", "wb").write(b)
with tarfile.open("badpax.tar", "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "p", b"x", pax_headers={"mtime": "yesterday"})
)");
  const std::vector<uint8_t> ok = read_bytes(dir / "ok.tar");
  REQUIRE(ok.size() >= 4096);
  {
    auto [src, report] = open_tar(dir / "ok.tar");
    CHECK(read_string(*src, "two") == std::string(2000, '2'));
  }
  auto expect_error = [&](const fs::path& p, const std::string& what) {
    INFO("archive " << p << ", expected: " << what);
    REQUIRE_THROWS_AS(open_tar(p), Error);
    REQUIRE_THROWS_WITH(open_tar(p), Catch::Contains(p.string()) && Catch::Contains(what));
    REQUIRE_THROWS_WITH(open_tar(p, true), Catch::Contains(p.string()) && Catch::Contains(what));
  };

  SECTION("corrupt header checksum") {
    std::vector<uint8_t> bad = ok;
    bad[1024 + 1] ^= 0x20;  // a letter of the second name
    write_file(dir / "bad.tar", bad);
    expect_error(dir / "bad.tar", "is corrupt: bad header checksum at offset 1024");
    bad = ok;
    bad[offsetof(tar::Header, chksum)] = 'x';  // the checksum field itself
    write_file(dir / "bad0.tar", bad);
    expect_error(dir / "bad0.tar", "is not a tar archive (no valid tar header at offset 0)");
  }
  SECTION("truncated inside a member's data") {
    write_file(dir / "cut.tar", std::vector<uint8_t>(ok.begin(), ok.begin() + 1536 + 1000));
    expect_error(dir / "cut.tar", "is truncated: the member at offset 1024 needs 3536 bytes, the file ends at 2536");
  }
  SECTION("truncated inside a header") {
    write_file(dir / "cut.tar", std::vector<uint8_t>(ok.begin(), ok.begin() + 1024 + 200));
    expect_error(dir / "cut.tar", "is truncated: a partial header at offset 1024");
  }
  SECTION("cut at a member boundary (no end marker) is still an archive") {
    write_file(dir / "cut.tar", std::vector<uint8_t>(ok.begin(), ok.begin() + 1536 + 2048));
    auto [src, report] = open_tar(dir / "cut.tar");
    CHECK(read_string(*src, "two") == std::string(2000, '2'));
  }
  SECTION("a damaged archive keeps the members before the damage; reads into it fail, --strict refuses it") {
    // The readable part ends inside the second member's data (as a
    // compressed stream whose first pass met a corrupt block does).
    class Damaged : public ArchiveFile {
     public:
      Damaged(std::vector<uint8_t> b, uint64_t end) : bytes_(std::move(b)), end_(end) {}
      std::string describe() const override { return "damaged.tar.gz"; }
      uint64_t size() const override { return end_; }
      Timestamp mtime() const override { return {}; }
      std::optional<std::string> damage() const override { return "corrupt at compressed offset 77"; }
      Status read(uint64_t offset, uint8_t* buf, size_t len) const override {
        if (offset + len > end_) return Status::io_error;
        std::memcpy(buf, bytes_.data() + offset, len);
        return Status::ok;
      }
      bool unchanged() const override { return true; }

     private:
      std::vector<uint8_t> bytes_;
      uint64_t end_;
    };
    ScanOptions o;
    ScanReport report;
    auto src = TarSource::open(std::make_unique<Damaged>(ok, 1536 + 1000), o, report);
    CHECK(read_string(*src, "one") == "11111");
    const uint32_t two = src->tree().lookup("two");
    REQUIRE(two != kNoIndex);
    CHECK(src->tree().nodes[two].size == 2000);
    std::vector<uint8_t> buf(1000);
    CHECK(src->read_file(two, 0, buf.data(), 1000) == Status::ok);
    CHECK(src->read_file(two, 500, buf.data(), 1000) == Status::io_error);
    o.strict = true;
    REQUIRE_THROWS_WITH(TarSource::open(std::make_unique<Damaged>(ok, 1536 + 1000), o, report),
                        Catch::Contains("runs into the damaged part") && Catch::Contains("--strict refuses it"));
    o.strict = false;
    // Damage before the first member's data: nothing can be read.
    REQUIRE_THROWS_WITH(TarSource::open(std::make_unique<Damaged>(ok, 300), o, report),
                        Catch::Contains("damaged.tar.gz: nothing of it can be read: corrupt at compressed offset 77"));
  }
  SECTION("compressed archives") {
    sh("cd '" + dir.path().string() + "' && gzip -k ok.tar && bzip2 -k ok.tar && xz -k ok.tar && zstd -q ok.tar && lz4 -q ok.tar ok.tar.lz4");
    // gzip, xz, zstd and bzip2 are read in place: the same tree as the plain tar.
    for (const char* name : {"ok.tar.gz", "ok.tar.xz", "ok.tar.zst", "ok.tar.bz2"}) {
      INFO(name);
      auto [src, report] = open_tar(dir / name);
      CHECK(read_string(*src, "two") == std::string(2000, '2'));
    }
    expect_error(dir / "ok.tar.lz4", "is a lz4-compressed archive");
    expect_error(dir / "ok.tar.lz4", "decompress it first (lz4 -d");
    // Compressed twice: the inner stream is refused with its own name.
    sh("cd '" + dir.path().string() + "' && gzip -c ok.tar.gz > twice.tar.gz.gz");
    expect_error(dir / "twice.tar.gz.gz", "is a gzip-compressed archive");
  }
  SECTION("empty file") {
    write_file(dir / "empty", {});
    expect_error(dir / "empty", "is empty: not a tar archive");
  }
  SECTION("not a tar file") {
    std::string text;
    for (int i = 0; i < 100; ++i) text += "just some text, line " + std::to_string(i) + "\n";
    write_text(dir / "notes.txt", text);
    expect_error(dir / "notes.txt", "is not a tar archive");
    write_text(dir / "short.txt", "hello\n");
    expect_error(dir / "short.txt", "is not a tar archive");
    write_file(dir / "zeros", std::vector<uint8_t>(100, 0));
    expect_error(dir / "zeros", "is not a tar archive");
  }
  SECTION("an archive without members is an empty tree") {
    sh("tar -cf '" + (dir / "none.tar").string() + "' -T /dev/null");
    auto [src, report] = open_tar(dir / "none.tar");
    CHECK(src->tree().nodes.size() == 1);
    CHECK(src->tree().dirents.empty());
  }
  SECTION("missing file") {
    expect_error(dir / "nope.tar", "does not exist");
  }
  SECTION("negative size") {
    expect_error(dir / "negsize.tar", "is corrupt: bad size field in the header at offset 0");
  }
  SECTION("an mtime field that is not a number, and no pax record to replace it") {
    expect_error(dir / "badtime.tar",
                 "is corrupt: bad mtime field (bytes 136-147) in the header of garbled at offset 0 and no pax mtime record");
  }
  SECTION("malformed pax time") {
    expect_error(dir / "badpax.tar", "pax mtime=yesterday is not a time");
  }
}

TEST_CASE("sparse members read back with zeros in the holes") {
  const std::string flags = GENERATE(as<std::string>{}, "--format=gnu", "--format=posix --sparse-version=0.0",
                                     "--format=posix --sparse-version=0.1", "--format=posix --sparse-version=1.0");
  INFO("tar " << flags);
  TempDir dir;
  fs::create_directory(dir / "tree");
  const uint64_t size = (3 << 20) + 123;
  make_sparse(dir / "tree" / "sparse", size,
              {{0, 5000}, {1048576 + 100, 7000}, {2 << 20, 4096}, {size - 10, 10}}, 11);
  make_sparse(dir / "tree" / "holes-only", 2 << 20, {}, 0);
  // Many segments: more than fit in the old GNU header (4) and a first
  // extension block (21).
  std::vector<std::pair<uint64_t, size_t>> many;
  for (uint64_t i = 0; i < 40; ++i) many.push_back({i * 65536 + 8192, 4096});
  make_sparse(dir / "tree" / "many", 40 * 65536 + 1, many, 50);
  sh("tar --sparse " + flags + " -C '" + (dir / "tree").string() + "' -cf '" + (dir / "s.tar").string() + "' .");

  auto [src, report] = open_tar(dir / "s.tar");
  INFO(skipped_list(report));
  CHECK(report.skipped.empty());
  const Tree& t = src->tree();
  CHECK(child_names(t, 0) == std::vector<std::string>{"holes-only", "many", "sparse"});
  check_matches_dir(*src, dir / "tree");
  for (const char* name : {"sparse", "holes-only", "many"}) {
    INFO(name);
    const uint32_t n = t.lookup(name);
    REQUIRE(n != kNoIndex);
    CHECK((t.nodes[n].flags & Node::kSparse) != 0);
    const std::vector<uint8_t> want = read_bytes(dir / "tree" / name);
    REQUIRE(t.nodes[n].size == want.size());
    // Odd-sized reads that start and end in holes and in data.
    for (uint64_t off = 0; off < want.size(); off += 77777) {
      const size_t len = size_t(std::min<uint64_t>(50000, want.size() - off));
      std::vector<uint8_t> got(len, 0xee);
      REQUIRE(src->read_file(n, off, got.data(), len) == Status::ok);
      CHECK(std::equal(got.begin(), got.end(), want.begin() + long(off)));
    }
  }
  std::vector<uint8_t> holes;
  REQUIRE(read_all(*src, t.lookup("holes-only"), holes) == Status::ok);
  CHECK(all_zero(holes.data(), holes.size()));
  std::vector<DataSegment> segs;
  t.data_segments(t.lookup("many"), segs);
  CHECK(segs.size() == 40);
}

TEST_CASE("an archive changed after the open answers source_changed") {
  TempDir dir;
  fs::create_directory(dir / "tree");
  write_file(dir / "tree" / "file", pattern_bytes(10000, 3));
  make_sparse(dir / "tree" / "sparse", 1 << 20, {{4096, 4096}}, 4);
  sh("tar --sparse --format=posix -C '" + (dir / "tree").string() + "' -cf '" + (dir / "a.tar").string() + "' .");
  auto [src, report] = open_tar(dir / "a.tar");
  const uint32_t file = src->tree().lookup("file"), sparse = src->tree().lookup("sparse");
  REQUIRE(file != kNoIndex);
  REQUIRE(sparse != kNoIndex);
  std::vector<uint8_t> buf(10000);
  REQUIRE(src->read_file(file, 0, buf.data(), buf.size()) == Status::ok);
  CHECK(buf == pattern_bytes(10000, 3));

  SECTION("bytes appended") {
    std::ofstream(dir / "a.tar", std::ios::binary | std::ios::app) << std::string(512, '\0');
    CHECK(src->read_file(file, 0, buf.data(), buf.size()) == Status::source_changed);
    CHECK(src->read_file(file, 5000, buf.data(), 10) == Status::source_changed);
    CHECK(src->read_file(sparse, 0, buf.data(), 8192) == Status::source_changed);
  }
  SECTION("rewritten in place (same size, new mtime)") {
    const int fd = ::open((dir / "a.tar").c_str(), O_WRONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(pwrite(fd, "X", 1, 2000) == 1);
    const struct timespec later[2] = {{0, UTIME_OMIT}, {2000000000, 0}};
    REQUIRE(futimens(fd, later) == 0);
    close(fd);
    CHECK(src->read_file(file, 0, buf.data(), buf.size()) == Status::source_changed);
  }
  SECTION("truncated") {
    fs::resize_file(dir / "a.tar", 1024);
    CHECK(src->read_file(file, 0, buf.data(), buf.size()) == Status::source_changed);
  }
}

namespace {

// python() with test/tools/tar_craft.py importable: archives written
// header field by header field.
void craft(const TempDir& dir, const std::string& script) {
  python(dir, "import sys\nsys.dont_write_bytecode = True\nsys.path.insert(0, '" +
                  (fs::path(__FILE__).parent_path().parent_path() / "tools").string() + "')\n" + script);
}

std::optional<int64_t> number_of(const std::string& field) {
  return tar::parse_number(field);
}

std::string bytes_of(std::initializer_list<int> b) {
  std::string s;
  for (int v : b) s += char(v);
  return s;
}

}  // namespace

TEST_CASE("numeric fields: octal with any terminator, base-256 of any width, as GNU tar and bsdtar read them", "[tar]") {
  // "0000644x" and "-644": bsdtar reads 0644 and -0644, GNU tar refuses the
  // first and reads the second as obsolete base-64; refused, as GNU tar does.
  CHECK_FALSE(number_of("0000644x").has_value());
  CHECK_FALSE(number_of("-0000644").has_value());
  CHECK_FALSE(number_of(" -644 ").has_value());
  CHECK(number_of(std::string("0000644\0", 8)) == 0644);   // NUL-terminated (ustar)
  CHECK(number_of("000644 ") == 0644);                      // space-terminated (old GNU, bsdtar)
  CHECK(number_of(std::string("000644 \0", 8)) == 0644);    // space then NUL (V7)
  CHECK(number_of("00000000644") == 0644);                  // no terminator: the whole field
  CHECK(number_of("    644 ") == 0644);                      // leading spaces
  CHECK(number_of("\t644") == 0644);                         // a leading tab (libarchive, GNU isspace)
  CHECK(number_of(std::string("644\0garbage", 11)) == 0644); // after the terminator: ignored by both
  CHECK(number_of("644 xyz") == 0644);
  CHECK(number_of(std::string(8, '\0')) == 0);              // blank fields of old archives
  CHECK(number_of("        ") == 0);
  CHECK_FALSE(number_of("64x4").has_value());               // a letter right after the digits
  CHECK_FALSE(number_of("0009").has_value());
  CHECK_FALSE(number_of("77777777777777777777777").has_value());  // beyond int64
  // Base-256: 0x80 positive, 0xff negative (two's complement), any width.
  CHECK(number_of(bytes_of({0x80, 0, 0, 0, 0, 0, 0, 1})) == 1);
  CHECK(number_of(bytes_of({0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00})) == 256);
  CHECK(number_of(bytes_of({0x80, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})) ==
        std::nullopt);  // 2^87 - 1: beyond int64
  CHECK(number_of(bytes_of({0x80, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})) == INT64_MAX);
  CHECK(number_of(bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})) == -1);
  CHECK(number_of(bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x9c})) == -100);
  CHECK(number_of(bytes_of({0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0})) == INT64_MIN);
  CHECK(number_of(bytes_of({0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0})) == std::nullopt);
  CHECK(number_of(bytes_of({0x81})) == 1);  // one byte: 7 bits
  CHECK(number_of(bytes_of({0x80, 0x12, 0x34})) == 0x1234);
  // bsdtar's pax mtime: base-256 in 11 bytes and a space. Both tars read
  // the whole field (a value 256 times too large, plus 32); pax overrides it.
  CHECK(number_of(bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xed, 0x30, 0x08, 0x80, 0x20})) ==
        int64_t(-315619200) * 256 + 32);
  // 1901-12-13 20:45:52 and 2446-05-10 22:38:55, the ends of ext4's range.
  CHECK(number_of(bytes_of({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0})) == -(int64_t(1) << 31));
  CHECK(number_of(bytes_of({0x80, 0, 0, 0, 0, 0, 0, 0x03, 0x7f, 0xff, 0xff, 0xff})) ==
        (int64_t(1) << 34) - (int64_t(1) << 31) - 1);
}

TEST_CASE("pax times are decimal seconds: negative fractions, both ends of ext4's range, beyond 2262", "[tar]") {
  CHECK(tar::parse_pax_time("1700000000.123456789") == Timestamp{1700000000, 123456789});
  CHECK(tar::parse_pax_time("1700000000.1234567891") == Timestamp{1700000000, 123456789});
  CHECK(tar::parse_pax_time("-1.5") == Timestamp{-2, 500000000});
  CHECK(tar::parse_pax_time("-315619199.5") == Timestamp{-315619200, 500000000});  // GNU tar's 1960-01-01 00:00:00.5
  CHECK(tar::parse_pax_time("-1") == Timestamp{-1, 0});
  CHECK(tar::parse_pax_time("-2147483648") == Timestamp{-2147483648, 0});           // 1901-12-13 20:45:52
  CHECK(tar::parse_pax_time("15032385535.999999999") == Timestamp{15032385535, 999999999});  // 2446-05-10
  CHECK(tar::parse_pax_time("9223372037") == Timestamp{9223372037, 0});             // 2262-04-11 23:47:17
  CHECK(tar::pax_time_ambiguous("-315619200.5"));
  CHECK_FALSE(tar::pax_time_ambiguous("-315619200"));
  CHECK_FALSE(tar::pax_time_ambiguous("315619200.5"));
  CHECK_FALSE(tar::parse_pax_time("yesterday").has_value());
  CHECK_FALSE(tar::parse_pax_time("1.2.3").has_value());
  CHECK_FALSE(tar::parse_pax_time("").has_value());
}

TEST_CASE("LIBARCHIVE.xattr names and values decode; text ACLs become the generic xattr encoding", "[tar]") {
  CHECK(tar::url_decode("user.a%3Db%25") == "user.a=b%");
  CHECK(tar::schily_xattr_name("user.a%3Db%25%3d%41") == "user.a=b%%3d%41");  // GNU tar decodes only these two
  CHECK_FALSE(tar::url_decode("user.%4").has_value());
  CHECK_FALSE(tar::url_decode("user.%zz").has_value());
  CHECK(tar::base64_decode("Ymx1ZQ==") == "blue");
  CHECK(tar::base64_decode("Ymx1ZQ") == "blue");
  CHECK(tar::base64_decode("AAEC") == bytes_of({0, 1, 2}));
  CHECK(tar::base64_decode("") == "");
  CHECK_FALSE(tar::base64_decode("Y").has_value());
  CHECK_FALSE(tar::base64_decode("Ym!1").has_value());

  auto entry = [](int tag, int perm, uint32_t id) {
    return bytes_of({tag, 0, perm, 0, int(id & 0xff), int(id >> 8 & 0xff), int(id >> 16 & 0xff), int(id >> 24)});
  };
  const std::string header = bytes_of({2, 0, 0, 0});
  const std::string expected = header + entry(1, 6, ~0u) + entry(2, 7, 1000) + entry(2, 5, 1001) +
                               entry(4, 4, ~0u) + entry(8, 5, 1) + entry(0x10, 7, ~0u) + entry(0x20, 4, ~0u);
  std::string out;
  uint32_t bits = 0;
  // GNU tar --acls: one entry a line, names (here numbers); bsdtar/star: commas, a 4th id field.
  CHECK(tar::acl_text_to_xattr("user::rw-\nuser:1001:r-x\nuser:1000:rwx\ngroup::r--\ngroup:1:r-x\nmask::rwx\nother::r--\n",
                               false, out, bits) == "");
  CHECK(out == expected);
  CHECK(tar::acl_text_to_xattr("user::rw-,group::r--,other::r--,user:nobody-here:rwx:1000,user:x:r-x:1001,"
                               "group:daemon:r-x:1,mask::rwx",
                               false, out, bits) == "");
  CHECK(out == expected);
  CHECK(tar::acl_text_to_xattr("u::rw-,u:1000:rwx,u:1001:rx,g::r,g:1:rx,m::rwx,o::r", false, out, bits) == "");
  CHECK(out == expected);
  // An access ACL of the three base entries is the mode: no xattr; a default one is kept.
  CHECK(tar::acl_text_to_xattr("user::rwx\ngroup::r-x\nother::r-x\n\n", false, out, bits) == "");
  CHECK(out.empty());
  CHECK(bits == 0755);
  CHECK(tar::acl_text_to_xattr("user::rwx\ngroup::r-x\nother::r-x\n", true, out, bits) == "");
  CHECK(out == header + entry(1, 7, ~0u) + entry(4, 5, ~0u) + entry(0x20, 5, ~0u));
  CHECK_THAT(tar::acl_text_to_xattr("user::rwx,user:no-such-user-here:rwx,group::r-x,mask::rwx,other::---", false, out, bits),
             Catch::Contains("names no known user"));
  CHECK_THAT(tar::acl_text_to_xattr("user::rwx,user:1000:rwx,group::r-x,other::---", false, out, bits),
             Catch::Contains("not a valid ACL"));
  CHECK_THAT(tar::acl_text_to_xattr("user::rwz,group::r-x,other::---", false, out, bits), Catch::Contains("unknown tag or permissions"));
}

TEST_CASE("tar dialects: V7 directories, types without data, pax-overridden garbage, times to 2446", "[tar]") {
  TempDir dir;
  craft(dir, R"(
import base64
from tar_craft import USTAR, b256, header, pad, pax, write
data = b"inside dir2\n"
write("dialects.tar", [
    header("dir1/", 1, b"\0"), header("dir2/", 700, b"0"),             # V7 directories: no data whatever the size
    header("dir2/file", len(data)), pad(data),
    header("sym", 5, b"2", link=b"dir2/file", magic=USTAR),              # a symlink with a size: no data
    header("fifo", 512, b"6", magic=USTAR),
    header("dir3", 100, b"5", magic=USTAR),
    header("space-term", 3, mtime=b"%011o " % 1262304001), pad(b"abc"),       # octal, space-terminated
    header("no-term", 3, mtime=b"%012o" % 1262304002), pad(b"abc"),           # 12 digits, no terminator
    header("b256-size", 0, sizef=b256(3, 12)), pad(b"xyz"),
    header("b256-uid", 0, uid=b256(3906250, 8)),
    header("b256-time-1901", 0, mtime=b256(-(1 << 31) + 60, 12)),
    header("b256-time-2446", 0, mtime=b256((1 << 34) - (1 << 31) - 256, 12)),
    pax([(b"mtime", b"-315619199.5"), (b"size", b"4"), (b"uid", b"77"), (b"atime", b"16000000000")]),
    header("overridden", 0, mtime=b"garbage!!!!!", uid=b"xx", sizef=b"?" * 12, magic=USTAR), pad(b"four"),
    pax([(b"LIBARCHIVE.xattr.user.a%3Db", base64.b64encode(b"\x00\x01bin")),
         (b"SCHILY.xattr.user.plain", b"text"), (b"LIBARCHIVE.xattr.user.plain", base64.b64encode(b"text")),
         (b"SCHILY.acl.access", b"user::rw-,group::r--,other::r--,user:x:rwx:1234,mask::rwx")]),
    header("attrs", 0, magic=USTAR),
    header("plain", 2, magic=USTAR), pad(b"pp"),
    pax([(b"size", b"5")]),
    header("hard", 0, b"1", link=b"plain", magic=USTAR), pad(b"hdata"),  # pax hard link with data
    header("after", 1, magic=USTAR), pad(b"a"),
    pax([(b"SUN.holesdata", b" 1024 1030 2048")]),                     # hole, data, hole, data to the end
    header("sun", 2050, magic=USTAR), pad(bytes(1024) + b"hello!" + bytes(1018) + b"zz"),
])
)");
  auto [src, report] = open_tar(dir / "dialects.tar");
  INFO(skipped_list(report));
  CHECK(report.skipped.empty());
  const Tree& t = src->tree();
  auto node = [&](const char* path) -> const Node& {
    const uint32_t n = t.lookup(path);
    INFO(path);
    REQUIRE(n != kNoIndex);
    return t.nodes[n];
  };
  CHECK(node("dir1").is_dir());
  CHECK(node("dir2").is_dir());
  CHECK(read_string(*src, "dir2/file") == "inside dir2\n");
  CHECK(node("sym").is_symlink());
  CHECK(S_ISFIFO(node("fifo").mode));
  CHECK(node("dir3").is_dir());
  CHECK(node("space-term").mtime == Timestamp{1262304001, 0});
  CHECK(node("no-term").mtime == Timestamp{1262304002, 0});
  CHECK(read_string(*src, "b256-size") == "xyz");
  CHECK(node("b256-uid").uid == 3906250);
  CHECK(node("b256-time-1901").mtime == Timestamp{-(int64_t(1) << 31) + 60, 0});
  CHECK(node("b256-time-2446").mtime == Timestamp{(int64_t(1) << 34) - (int64_t(1) << 31) - 256, 0});
  const Node& o = node("overridden");
  CHECK(o.mtime == Timestamp{-315619200, 500000000});
  CHECK(o.atime == Timestamp{16000000000, 0});  // 2477: beyond ext4, kept here
  CHECK(o.uid == 77);
  CHECK(read_string(*src, "overridden") == "four");
  std::map<std::string, std::string> got;
  auto [b, e] = t.xattrs_of(t.lookup("attrs"));
  for (const Xattr* x = b; x != e; ++x) got[std::string(t.xattr_name(*x))] = t.xattr_value(*x);
  CHECK(got.size() == 3);
  CHECK(got["user.a=b"] == bytes_of({0, 1, 'b', 'i', 'n'}));
  CHECK(got["user.plain"] == "text");  // bsdtar writes both records of a plain name
  std::string acl;
  uint32_t bits = 0;
  REQUIRE(tar::acl_text_to_xattr("user::rw-,group::r--,other::r--,user:x:rwx:1234,mask::rwx", false, acl, bits) == "");
  CHECK(bits == 0674);
  CHECK((node("attrs").mode & 07777) == 0674);  // the mask is the group class, as after tar -x
  CHECK(got["system.posix_acl_access"] == acl);
  CHECK(node("hard").nlink == 2);
  CHECK(read_string(*src, "plain") == "pp");
  CHECK(read_string(*src, "after") == "a");
  const uint32_t sun = t.lookup("sun");
  REQUIRE(sun != kNoIndex);
  CHECK((t.nodes[sun].flags & Node::kSparse));
  std::vector<DataSegment> segs;
  t.data_segments(sun, segs);
  REQUIRE(segs.size() == 2);
  CHECK((segs[0].offset == 1024 && segs[0].length == 6 && segs[1].offset == 2048 && segs[1].length == 2));
  CHECK(read_string(*src, "sun") == std::string(1024, '\0') + "hello!" + std::string(1018, '\0') + "zz");
}

TEST_CASE("ids that do not fit 32 bits or are negative refuse the member: uid 2^32 never becomes root", "[tar]") {
  TempDir dir;
  craft(dir, R"(
from tar_craft import USTAR, b256, header, pad, pax, write
write("ids.tar", [
    pax([(b"uid", b"4294967296")]), header("pax-uid-2^32", 0, magic=USTAR),
    pax([(b"gid", b"8589934593")]), header("pax-gid-2^33+1", 0, magic=USTAR),
    pax([(b"uid", b"-1")]), header("pax-uid-negative", 0, magic=USTAR),
    header("b256-uid-2^32", 0, uid=b256(1 << 32, 8)),
    header("b256-gid-negative", 0, gid=b256(-2, 8)),
    pax([(b"uid", b"4294967295"), (b"gid", b"0")]), header("largest", 1, magic=USTAR), pad(b"k"),
    pax([(b"SCHILY.devmajor", b"4294967296"), (b"SCHILY.devminor", b"1")]), header("dev-major-2^32", 0, b"3", magic=USTAR),
    pax([(b"SCHILY.devmajor", b"4095"), (b"SCHILY.devminor", b"4294967295")]), header("dev-wide", 0, b"4", magic=USTAR),
    header("after", 2, magic=USTAR), pad(b"ok"),
])
)");
  auto [src, report] = open_tar(dir / "ids.tar");
  const Tree& t = src->tree();
  CHECK(child_names(t, 0) == std::vector<std::string>{"after", "dev-wide", "largest"});
  CHECK(t.nodes[t.lookup("largest")].uid == 4294967295u);
  CHECK(read_string(*src, "after") == "ok");
  // The tree's dev_t carries 32-bit numbers; the ext4 layer judges what fits an inode.
  CHECK(t.nodes[t.lookup("dev-wide")].aux == makedev(4095u, 4294967295u));
  const std::string list = skipped_list(report);
  INFO(list);
  REQUIRE(report.skipped.size() == 6);
  CHECK_THAT(report.skipped[0], Catch::StartsWith("pax-uid-2^32: pax uid=4294967296 (header at offset 1024) does not "
                                                  "fit 32 bits (cut to fit it would be 0)"));
  CHECK_THAT(report.skipped[1], Catch::StartsWith("pax-gid-2^33+1: pax gid=8589934593") && Catch::Contains("would be 1"));
  CHECK_THAT(report.skipped[2], Catch::StartsWith("pax-uid-negative: pax uid=-1") && Catch::Contains("is negative"));
  CHECK_THAT(report.skipped[3], Catch::StartsWith("b256-uid-2^32: uid field 4294967296 (header at offset") &&
                                    Catch::Contains("does not fit 32 bits"));
  CHECK_THAT(report.skipped[4], Catch::StartsWith("b256-gid-negative: gid field -2") && Catch::Contains("is negative"));
  CHECK_THAT(report.skipped[5], Catch::StartsWith("dev-major-2^32: pax SCHILY.devmajor=4294967296") &&
                                    Catch::Contains("does not fit 32 bits"));
  REQUIRE_THROWS_WITH(open_tar(dir / "ids.tar", true),
                      Catch::Contains("member pax-uid-2^32: pax uid=4294967296") && Catch::Contains("--strict"));
}

TEST_CASE("tar warnings: hard-link data, negative fractional times, symlink ACLs; --strict fails on each", "[tar]") {
  TempDir dir;
  craft(dir, R"(
from tar_craft import USTAR, header, pad, pax, write
acl = b"user::rw-,group::r--,other::r--,user:x:rwx:1234,mask::rwx"
write("hard.tar", [header("plain", 2, magic=USTAR), pad(b"pp"),
                   pax([(b"size", b"5")]), header("hard", 0, b"1", link=b"plain", magic=USTAR), pad(b"hdata")])
write("atime.tar", [pax([(b"atime", b"-1.5")]), header("a", 0, magic=USTAR)])
write("ctime.tar", [pax([(b"ctime", b"-2.25")]), header("c", 0, magic=USTAR)])
write("symacl.tar", [pax([(b"SCHILY.acl.access", acl)]), header("link", 0, b"2", link=b"t", magic=USTAR)])
write("symxattr.tar", [pax([(b"SCHILY.xattr.system.posix_acl_access", b"\x02\0\0\0"), (b"SCHILY.xattr.user.k", b"v")]),
                       header("link", 0, b"2", link=b"t", magic=USTAR)])
write("badacl.tar", [pax([(b"SCHILY.acl.access", b"user::rwq")]), header("f", 0, magic=USTAR)])
write("unknown.tar", [header("weird", 1, b"Q", magic=USTAR), pad(b"q")])
)");
  struct Case {
    const char* archive;
    const char* warning;
  };
  const Case cases[] = {
      {"hard.tar", "member hard: pax hard link with 5 bytes of data at offset 2560: the data is skipped"},
      {"atime.tar", "member a: pax atime=-1.5 (header at offset 1024) is read as POSIX defines it"},
      {"ctime.tar", "member c: pax ctime=-2.25 (header at offset 1024) is read as POSIX defines it"},
      {"symacl.tar", "member link: SCHILY.acl.access record (header at offset 1024) on a symlink: left out"},
      {"symxattr.tar", "member link: xattr system.posix_acl_access record (header at offset 1024) on a symlink"},
      {"badacl.tar", "member f: pax record SCHILY.acl.access (header at offset 1024)"},
      {"unknown.tar", "member weird: unknown tar entry type 'Q' at offset 0"},
  };
  for (const Case& c : cases) {
    INFO(c.archive);
    auto [src, report] = open_tar(dir / c.archive);
    CHECK(report.skipped.empty());
    REQUIRE_THROWS_WITH(open_tar(dir / c.archive, true), Catch::Contains(c.warning) && Catch::Contains("--strict"));
  }
  auto hard = open_tar(dir / "hard.tar");
  CHECK(hard.src->tree().nodes[hard.src->tree().lookup("hard")].nlink == 2);
  CHECK(read_string(*hard.src, "plain") == "pp");
  auto atime = open_tar(dir / "atime.tar");
  CHECK(atime.src->tree().nodes[atime.src->tree().lookup("a")].atime == Timestamp{-2, 500000000});
  for (const char* name : {"symacl.tar", "symxattr.tar"}) {
    INFO(name);
    auto sym = open_tar(dir / name);
    const Tree& t = sym.src->tree();
    const uint32_t link = t.lookup("link");
    REQUIRE(link != kNoIndex);
    CHECK(t.nodes[link].mode == (S_IFLNK | 0777));  // the ACL's mask does not become the symlink's mode
    auto [b, e] = t.xattrs_of(link);
    std::vector<std::string> names;
    for (const Xattr* x = b; x != e; ++x) names.emplace_back(t.xattr_name(*x));
    const std::vector<std::string> kept = std::string(name) == "symxattr.tar" ? std::vector<std::string>{"user.k"}
                                                                              : std::vector<std::string>{};
    CHECK(names == kept);
  }
}

TEST_CASE("ACL names are resolved once per scan through the reader's cache", "[tar]") {
  tar::IdCache cache;
  std::string out;
  uint32_t bits = 0;
  CHECK(tar::acl_text_to_xattr("user::rwx\nuser:root:r-x\ngroup::r-x\ngroup:root:r--\nmask::rwx\nother::---\n", false,
                               out, bits, &cache) == "");
  REQUIRE(cache.users.count("root") == 1);
  CHECK(cache.users["root"] == 0u);
  CHECK(cache.groups["root"] == 0u);
  // A cached answer is used as is: a name given another id here resolves to it.
  cache.users["someone"] = 4321;
  cache.users["nobody-known"] = std::nullopt;
  REQUIRE(tar::acl_text_to_xattr("u::rwx,u:someone:r-x,g::r-x,m::rwx,o::---", false, out, bits, &cache) == "");
  CHECK(out.substr(4 + 8, 8) == std::string("\x02\x00\x05\x00\xe1\x10\x00\x00", 8));
  CHECK_THAT(tar::acl_text_to_xattr("u::rwx,u:nobody-known:r-x,g::r-x,m::rwx,o::---", false, out, bits, &cache),
             Catch::Contains("names no known user"));
}
