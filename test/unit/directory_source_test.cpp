// DirectorySource: what a scan records (hard links, symlinks, holes, name
// order, the root's own xattrs, mount points kept empty), reads of the
// scanned bytes, and refusal to serve a file that changed since the scan.
#include <fcntl.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/source/directory/directory_source.h"
#include "core/image/error.h"
#include "test_images.h"

using namespace vdiskfs;
using vdiskfs::test::pattern_bytes;
using vdiskfs::test::child_names;
using vdiskfs::test::TempDir;
using vdiskfs::test::write_file;
namespace fs = std::filesystem;

namespace {

// Node of the entry `name` directly under directory node `dir`.
uint32_t child(const Tree& t, uint32_t dir, std::string_view name) {
  const Node& d = t.nodes[dir];
  for (uint32_t i = t.child_begin(d); i < t.child_begin(d) + t.child_count(d); ++i)
    if (t.name(t.dirents[i]) == name) return t.dirents[i].node;
  return kNoIndex;
}

std::unique_ptr<DirectorySource> open_source(const fs::path& p, size_t open_files = 1024) {
  ScanOptions o;
  o.open_files = open_files;
  ScanReport r;
  auto s = DirectorySource::open(p.string(), o, r);
  CHECK(r.skipped.empty());
  return s;
}

Status read_all(const Source& s, uint32_t node, std::vector<uint8_t>& out) {
  out.assign(s.tree().nodes[node].size, 0);
  return s.read_file(node, 0, out.data(), out.size());
}

// Runs `body` in a child process as uid/gid 65534 (nobody) and returns the
// child's exit code: `body`'s return value, 10 when the switch failed, 20
// for an escaped exception. Needs root.
template <typename F>
int run_as_nobody(F body) {
  fflush(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    try {
      _exit(body());
    } catch (const std::exception& e) {
      fprintf(stderr, "child: unexpected exception: %s\n", e.what());
      _exit(20);
    }
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("directory scan records hard links, symlinks, holes and sorted names") {
  TempDir dir;
  write_file(dir / "b", pattern_bytes(100, 1));
  write_file(dir / "C", pattern_bytes(10, 2));
  write_file(dir / "aa", {});
  fs::create_hard_link(dir / "b", dir / "a");
  fs::create_directory(dir / "sub");
  fs::create_hard_link(dir / "b", dir / "sub" / "third");
  fs::create_directory_symlink("/etc", dir / "etc-link");
  // Sparse: 8 MiB with data at 0 and at 5 MiB.
  const std::vector<uint8_t> chunk = pattern_bytes(8192, 3);
  {
    const int fd = ::open((dir / "sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(pwrite(fd, chunk.data(), chunk.size(), 0) == ssize_t(chunk.size()));
    REQUIRE(pwrite(fd, chunk.data(), chunk.size(), 5 << 20) == ssize_t(chunk.size()));
    REQUIRE(ftruncate(fd, 8 << 20) == 0);
    close(fd);
  }

  auto src = open_source(dir.path());
  const Tree& t = src->tree();
  CHECK(t.nodes[0].is_dir());
  CHECK(child_names(t, 0) ==
        std::vector<std::string>{"C", "a", "aa", "b", "etc-link", "sparse", "sub"});

  SECTION("hard links share one node") {
    const uint32_t a = child(t, 0, "a"), b = child(t, 0, "b");
    const uint32_t sub = child(t, 0, "sub");
    REQUIRE(a != kNoIndex);
    CHECK(a == b);
    CHECK(child(t, sub, "third") == a);
    CHECK(t.nodes[a].nlink == 3);
    CHECK(t.nodes[a].size == 100);
    CHECK(t.nodes[child(t, 0, "C")].nlink == 1);
    // The directory counts ".", its name and each subdirectory's "..".
    CHECK(t.nodes[0].nlink == 3);
    CHECK(t.nodes[sub].nlink == 2);
    size_t regular = 0;
    for (const Node& n : t.nodes) regular += n.is_regular();
    CHECK(regular == 4);  // b (3 names), C, aa, sparse
  }

  SECTION("a symlink to a directory stays a symlink") {
    const uint32_t l = child(t, 0, "etc-link");
    REQUIRE(l != kNoIndex);
    CHECK(t.nodes[l].is_symlink());
    CHECK(t.link_target(t.nodes[l]) == "/etc");
    CHECK(t.nodes[l].size == 4);
    CHECK(child(t, l, "passwd") == kNoIndex);
  }

  SECTION("holes are detected and data segments cover the written chunks") {
    const uint32_t s = child(t, 0, "sparse");
    REQUIRE(s != kNoIndex);
    CHECK(t.nodes[s].size == (8u << 20));
    CHECK((t.nodes[s].flags & Node::kSparse) != 0);
    std::vector<DataSegment> segs;
    t.data_segments(s, segs);
    REQUIRE(!segs.empty());
    uint64_t total = 0, prev_end = 0;
    for (const DataSegment& d : segs) {
      CHECK(d.offset >= prev_end);  // sorted, disjoint
      CHECK(d.length > 0);
      prev_end = d.offset + d.length;
      total += d.length;
    }
    CHECK(prev_end <= (8u << 20));
    CHECK(total < (2u << 20));  // most of the file is a hole
    auto covered = [&](uint64_t off, uint64_t len) {
      for (const DataSegment& d : segs)
        if (d.offset <= off && off + len <= d.offset + d.length) return true;
      return false;
    };
    CHECK(covered(0, chunk.size()));
    CHECK(covered(5 << 20, chunk.size()));
    CHECK(t.data_bytes() == total + 100 + 10);
    // Reading across a hole gives zeros, data where data was written.
    std::vector<uint8_t> buf(3 * 8192, 0xAA);
    REQUIRE(src->read_file(s, (5 << 20) - 8192, buf.data(), buf.size()) == Status::ok);
    CHECK(vdiskfs::test::all_zero(buf.data(), 8192));
    CHECK(std::memcmp(buf.data() + 8192, chunk.data(), 8192) == 0);
    CHECK(vdiskfs::test::all_zero(buf.data() + 16384, 8192));
  }

  SECTION("read_file returns the exact bytes, at any offset") {
    const uint32_t b = child(t, 0, "b");
    std::vector<uint8_t> out;
    REQUIRE(read_all(*src, b, out) == Status::ok);
    CHECK(out == pattern_bytes(100, 1));
    uint8_t part[7];
    REQUIRE(src->read_file(b, 93, part, 7) == Status::ok);
    CHECK(std::memcmp(part, pattern_bytes(100, 1).data() + 93, 7) == 0);
    REQUIRE(read_all(*src, child(t, 0, "C"), out) == Status::ok);
    CHECK(out == pattern_bytes(10, 2));
  }
}

TEST_CASE("read_file refuses files that changed since the scan") {
  TempDir dir;
  const std::vector<uint8_t> original = pattern_bytes(5000, 9);
  // open_files = 1 and 1024: with a cold and a warm descriptor cache.
  const size_t open_files = GENERATE(size_t(1), size_t(1024));
  const bool warm = GENERATE(false, true);
  CAPTURE(open_files, warm);
  write_file(dir / "f", original);
  write_file(dir / "other", pattern_bytes(10, 1));
  fs::create_directory(dir / "outside-target");
  auto src = open_source(dir.path(), open_files);
  const uint32_t f = child(src->tree(), 0, "f");
  const uint32_t other = child(src->tree(), 0, "other");
  REQUIRE(f != kNoIndex);
  std::vector<uint8_t> buf;
  if (warm) {
    REQUIRE(read_all(*src, f, buf) == Status::ok);
    REQUIRE(buf == original);
  }
  // With one slot, reading another file pushes f out of the cache.
  REQUIRE(read_all(*src, other, buf) == Status::ok);

  SECTION("truncated") {
    REQUIRE(truncate((dir / "f").c_str(), 1000) == 0);
    uint8_t small[100];
    CHECK(src->read_file(f, 0, small, sizeof small) == Status::source_changed);
    CHECK(read_all(*src, f, buf) == Status::source_changed);
  }
  SECTION("rewritten with the same size and a new mtime") {
    const Timestamp mtime = src->tree().nodes[f].mtime;
    write_file(dir / "f", pattern_bytes(5000, 10));
    const timespec ts[2] = {{0, UTIME_OMIT}, {time_t(mtime.sec + 100), long(mtime.nsec)}};
    REQUIRE(utimensat(AT_FDCWD, (dir / "f").c_str(), ts, 0) == 0);
    CHECK(read_all(*src, f, buf) == Status::source_changed);
  }
  SECTION("deleted") {
    REQUIRE(unlink((dir / "f").c_str()) == 0);
    CHECK(read_all(*src, f, buf) == Status::source_changed);
  }
  SECTION("replaced by a symlink that leads outside the tree") {
    // The target has the same size; following the link would serve its bytes.
    TempDir outside;
    write_file(outside / "secret", pattern_bytes(5000, 77));
    REQUIRE(unlink((dir / "f").c_str()) == 0);
    fs::create_symlink(outside / "secret", dir / "f");
    CHECK(read_all(*src, f, buf) == Status::source_changed);
  }
  // The other file is untouched and still served.
  CHECK(read_all(*src, other, buf) == Status::ok);
  CHECK(buf == pattern_bytes(10, 1));
}

TEST_CASE("open_beneath does not follow symlinks out of the root") {
  TempDir dir, outside;
  write_file(outside / "x", {'o'});
  fs::create_directory(dir / "sub");
  write_file(dir / "sub" / "x", {'i'});
  fs::create_directory_symlink(outside.path(), dir / "link");
  fs::create_symlink(outside / "x", dir / "filelink");
  const int root = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(root >= 0);
  const int ok_fd = open_beneath(root, "sub/x", O_RDONLY);
  CHECK(ok_fd >= 0);
  if (ok_fd >= 0) close(ok_fd);
  for (const char* bad : {"link/x", "filelink", "../" , "sub/../../x", "/etc/passwd"}) {
    CAPTURE(bad);
    const int fd = open_beneath(root, bad, O_RDONLY);
    CHECK(fd < 0);
    if (fd >= 0) close(fd);
  }
  close(root);
}

TEST_CASE("scanning as an unprivileged user skips an unreadable directory") {
  // A skipped check would pass unseen: without root this case fails.
  if (geteuid() != 0) FAIL("needs root to switch to uid 65534: run the unit tests as root");
  TempDir dir;
  fs::create_directory(dir / "open");
  write_file(dir / "open" / "file", pattern_bytes(10, 1));
  fs::create_directory(dir / "locked");
  write_file(dir / "locked" / "hidden", pattern_bytes(10, 2));
  write_file(dir / "zz", pattern_bytes(10, 3));
  REQUIRE(chmod((dir / "open").c_str(), 0755) == 0);
  REQUIRE(chmod((dir / "locked").c_str(), 0) == 0);

  // Non-strict: the locked directory is listed as skipped and kept empty;
  // everything else is scanned. Exit codes name the failed expectation.
  const int lenient = run_as_nobody([&] {
          ScanReport r;
          auto src = DirectorySource::open(dir.path().string(), ScanOptions{}, r);
          if (r.skipped.size() != 1 || r.skipped[0].rfind("locked:", 0) != 0) {
            for (const std::string& line : r.skipped) fprintf(stderr, "child: skipped %s\n", line.c_str());
            return r.skipped.size() != 1 ? 1 : 2;
          }
          const Tree& t = src->tree();
          const uint32_t locked = child(t, 0, "locked");
          if (locked == kNoIndex || !t.nodes[locked].is_dir()) return 3;
          if (t.child_count(t.nodes[locked]) != 0) return 4;
          if (child(t, child(t, 0, "open"), "file") == kNoIndex) return 5;
          if (child(t, 0, "zz") == kNoIndex) return 6;
          return 0;
        });
  CHECK(lenient == 0);

  // Strict: the scan throws Error naming the directory.
  const int strict = run_as_nobody([&] {
          ScanOptions o;
          o.strict = true;
          ScanReport r;
          try {
            DirectorySource::open(dir.path().string(), o, r);
          } catch (const Error& e) {
            if (std::string(e.what()).find("locked") != std::string::npos) return 0;
            fprintf(stderr, "child: %s\n", e.what());
            return 2;
          }
          return 1;  // did not throw
        });
  CHECK(strict == 0);
}

TEST_CASE("scanning as an unprivileged user maps holes of a readable file owned by another user") {
  // A skipped check would pass unseen: without root this case fails.
  if (geteuid() != 0) FAIL("needs root to switch to uid 65534: run the unit tests as root");
  TempDir dir;
  // A world-readable sparse file owned by root: 1 MiB hole, then 4 bytes.
  {
    const int fd = ::open((dir / "sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(pwrite(fd, "data", 4, 1 << 20) == 4);
    close(fd);
  }
  // O_NOATIME is refused (EPERM) to non-owners; the scan must fall back to
  // a plain open instead of skipping the file (strict: failing the scan).
  for (const bool strict : {false, true}) {
    CAPTURE(strict);
    const int code = run_as_nobody([&] {
            ScanOptions o;
            o.strict = strict;
            ScanReport r;
            std::unique_ptr<DirectorySource> src;
            try {
              src = DirectorySource::open(dir.path().string(), o, r);
            } catch (const Error& e) {
              fprintf(stderr, "child: %s\n", e.what());
              return 1;
            }
            for (const std::string& line : r.skipped) fprintf(stderr, "child: skipped %s\n", line.c_str());
            if (!r.skipped.empty()) return 2;
            const uint32_t s = child(src->tree(), 0, "sparse");
            if (s == kNoIndex) return 3;
            if (!(src->tree().nodes[s].flags & Node::kSparse)) return 4;
            uint8_t buf[4];
            if (src->read_file(s, 1 << 20, buf, 4) != Status::ok || std::memcmp(buf, "data", 4) != 0)
              return 5;
            return 0;
          });
    // 1: strict scan failed, 2: skipped, 3/4: missing or not sparse, 5: bad read.
    CHECK(code == 0);
  }
}

namespace {

// The extended attributes of a node as (name, value) pairs, in tree order.
std::vector<std::pair<std::string, std::string>> xattr_list(const Tree& t, uint32_t node) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto [first, last] = t.xattrs_of(node);
  for (const Xattr* x = first; x != last; ++x) out.emplace_back(t.xattr_name(*x), t.xattr_value(*x));
  return out;
}

// A POSIX access ACL in the kernel's xattr form (version 2; tag, perm, id):
// owner rwx, user 1000 rwx, group r-x, mask rwx, other ---.
std::string access_acl() {
  const uint16_t entries[][2] = {{0x01, 7}, {0x02, 7}, {0x04, 5}, {0x10, 7}, {0x20, 0}};
  const uint32_t ids[] = {0xffffffffu, 1000, 0xffffffffu, 0xffffffffu, 0xffffffffu};
  std::string v("\x02\0\0\0", 4);
  for (size_t i = 0; i < 5; ++i) {
    v.append(reinterpret_cast<const char*>(entries[i]), 4);
    v.append(reinterpret_cast<const char*>(&ids[i]), 4);
  }
  return v;
}

// Sets the xattr `name` of `p` to `value`; false when the filesystem refuses.
bool set_xattr(const fs::path& p, const std::string& name, const std::string& value) {
  return lsetxattr(p.c_str(), name.c_str(), value.data(), value.size(), 0) == 0;
}

// A tmpfs mounted for the life of the object (needs root); unmounted lazily.
class TmpfsMount {
 public:
  TmpfsMount(const fs::path& at, const std::string& options) : at_(at) {
    mounted_ = mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~TmpfsMount() {
    if (mounted_) umount2(at_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }

 private:
  fs::path at_;
  bool mounted_ = false;
};

}  // namespace

TEST_CASE("the root carries its xattrs and ACLs as any directory does") {
  TempDir parent;
  const fs::path dir = parent / "src";
  fs::create_directories(dir / "sub");
  write_file(dir / "sub" / "f", pattern_bytes(10, 1));
  REQUIRE(set_xattr(dir, "user.root", "on"));
  REQUIRE(set_xattr(dir, "system.posix_acl_access", access_acl()));
  REQUIRE(set_xattr(dir, "system.posix_acl_default", access_acl()));
  REQUIRE(set_xattr(dir / "sub", "user.sub", "on"));
  if (geteuid() == 0) REQUIRE(set_xattr(dir, "trusted.root", std::string("bin\0ary", 7)));

  SECTION("scanned as the root, it has what it has as a child") {
    auto as_root = open_source(dir);
    auto as_child = open_source(parent.path());
    const Tree& r = as_root->tree();
    const Tree& c = as_child->tree();
    const uint32_t in_parent = child(c, 0, "src");
    REQUIRE(in_parent != kNoIndex);
    const Node &a = r.nodes[0], &b = c.nodes[in_parent];
    CHECK(a.mode == b.mode);
    CHECK(a.uid == b.uid);
    CHECK(a.gid == b.gid);
    CHECK(a.nlink == b.nlink);
    CHECK(a.atime == b.atime);
    CHECK(a.mtime == b.mtime);
    CHECK(a.ctime == b.ctime);
    CHECK(a.btime == b.btime);
    CHECK(a.flags == b.flags);
    const auto root_xattrs = xattr_list(r, 0);
    CHECK(root_xattrs == xattr_list(c, in_parent));
    CHECK(std::count(root_xattrs.begin(), root_xattrs.end(), std::pair<std::string, std::string>("user.root", "on")) == 1);
    CHECK(std::count(root_xattrs.begin(), root_xattrs.end(),
                     std::pair<std::string, std::string>("system.posix_acl_access", access_acl())) == 1);
    CHECK(std::count(root_xattrs.begin(), root_xattrs.end(),
                     std::pair<std::string, std::string>("system.posix_acl_default", access_acl())) == 1);
    CHECK(root_xattrs.size() == (geteuid() == 0 ? 4u : 3u));
    // The tree's xattrs stay sorted by node: the subdirectory's are found.
    CHECK(xattr_list(r, child(r, 0, "sub")) ==
          std::vector<std::pair<std::string, std::string>>{{"user.sub", "on"}});
  }
  SECTION("without xattrs, the root has none either") {
    ScanOptions o;
    o.xattrs = false;
    ScanReport rep;
    auto src = DirectorySource::open(dir.string(), o, rep);
    CHECK(src->tree().xattrs.empty());
    CHECK((src->tree().nodes[0].flags & Node::kXattrs) == 0);
  }
}

TEST_CASE("one_file_system keeps a mount point as an empty directory with the mounted root's metadata") {
  // A skipped check would pass unseen: without root this case fails.
  if (geteuid() != 0) FAIL("needs root to mount a tmpfs: run the unit tests as root");
  TempDir dir;
  fs::create_directories(dir / "a" / "mnt");
  fs::create_directory(dir / "b");
  write_file(dir / "b" / "kept", pattern_bytes(10, 1));
  REQUIRE(chmod((dir / "a" / "mnt").c_str(), 0755) == 0);
  TmpfsMount tmpfs(dir / "a" / "mnt", "size=1m,mode=0710,uid=4321,gid=8765");
  REQUIRE(tmpfs.mounted());
  write_file(dir / "a" / "mnt" / "elsewhere", pattern_bytes(10, 2));
  fs::create_directory(dir / "a" / "mnt" / "deeper");
  REQUIRE(set_xattr(dir / "a" / "mnt", "trusted.mounted", "yes"));
  struct stat mounted_root;
  REQUIRE(stat((dir / "a" / "mnt").c_str(), &mounted_root) == 0);

  ScanOptions o;
  o.one_file_system = GENERATE(false, true);
  CAPTURE(o.one_file_system);
  ScanReport rep;
  auto src = DirectorySource::open(dir.path().string(), o, rep);
  CHECK(rep.skipped.empty());
  const Tree& t = src->tree();
  const uint32_t a = child(t, 0, "a");
  const uint32_t mnt = child(t, a, "mnt");
  REQUIRE(mnt != kNoIndex);
  const Node& n = t.nodes[mnt];
  // What stat shows at the path (the mounted root), as GNU tar and rsync -x record.
  CHECK(n.is_dir());
  CHECK((n.mode & 07777) == 0710);
  CHECK(n.uid == 4321);
  CHECK(n.gid == 8765);
  CHECK(n.mtime == Timestamp{int64_t(mounted_root.st_mtim.tv_sec), uint32_t(mounted_root.st_mtim.tv_nsec)});
  CHECK(xattr_list(t, mnt) == std::vector<std::pair<std::string, std::string>>{{"trusted.mounted", "yes"}});
  CHECK(child(t, child(t, 0, "b"), "kept") != kNoIndex);
  if (o.one_file_system) {
    CHECK(t.child_count(n) == 0);
    CHECK(n.nlink == 2);
    CHECK(t.nodes[a].nlink == 3);  // ".", its name, mnt's ".."
    CHECK(rep.not_descended == std::vector<std::string>{"a/mnt"});
    CHECK(t.relative_path(mnt) == "a/mnt");
  } else {
    CHECK(child_names(t, mnt) == std::vector<std::string>{"deeper", "elsewhere"});
    CHECK(n.nlink == 3);
    CHECK(rep.not_descended.empty());
  }
}
