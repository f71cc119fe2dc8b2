// ext4: the extent-tree builder on its own, then a whole volume built from
// a real directory and judged by e2fsck and debugfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/source/directory/directory_source.h"
#include "core/disk/disk_builder.h"
#include "core/image/error.h"
#include "core/source/tree_builder.h"
#include "core/fs/ext4/ext4_extent_tree.h"
#include "core/fs/ext4/ext4_fit.h"
#include "core/fs/ext4/ext4_acl.h"
#include "core/fs/ext4/ext4_format.h"
#include "core/fs/ext4/ext4_format_super.h"
#include "core/fs/ext4/ext4_volume.h"
#include "core/fs/ext4/ext4_xattr.h"
#include "test_images.h"

using namespace vdiskfs;
using namespace vdiskfs::ext4;
using vdiskfs::test::all_zero;
using vdiskfs::test::le;
using vdiskfs::test::TempDir;

namespace {


// Runs a shell command; returns its stdout, and its exit status in *status.
std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  REQUIRE(f);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const int rc = pclose(f);
  if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

// The line of `text` that contains `key`, or "".
std::string line_with(const std::string& text, const std::string& key) {
  const size_t at = text.find(key);
  if (at == std::string::npos) return "";
  const size_t begin = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
  const size_t end = text.find('\n', at);
  return text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

void write_file(const std::filesystem::path& p, const std::vector<uint8_t>& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  REQUIRE(f.good());
}

void set_times(const std::filesystem::path& p, int64_t sec, long nsec) {
  timespec ts[2] = {{time_t(sec), nsec}, {time_t(sec), nsec}};
  REQUIRE(utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

// Writes [offset, offset + size) of `img` to a (sparse) file.
void dump_range(const Image& img, uint64_t offset, uint64_t size, const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t pos = 0; pos < size; pos += buf.size()) {
    const size_t n = size_t(std::min<uint64_t>(buf.size(), size - pos));
    REQUIRE(img.read(offset + pos, buf.data(), n) == Status::ok);
    bool zero = true;
    for (size_t i = 0; i < n && zero; ++i) zero = buf[i] == 0;
    if (!zero) REQUIRE(pwrite(fd, buf.data(), n, off_t(pos)) == ssize_t(n));
  }
  REQUIRE(ftruncate(fd, off_t(size)) == 0);
  close(fd);
}

// An ACL in Linux's generic xattr encoding: {tag, perm, id} entries.
std::string generic_acl(const std::vector<std::array<uint32_t, 3>>& entries) {
  std::string out;
  auto le_bytes = [&](uint32_t v, int n) {
    for (int i = 0; i < n; ++i) out += char((v >> (8 * i)) & 0xff);
  };
  le_bytes(2, 4);
  for (const auto& e : entries) le_bytes(e[0], 2), le_bytes(e[1], 2), le_bytes(e[2], 4);
  return out;
}

// Writes the ext4 partition of `disk` to WORK/part.img and requires e2fsck
// to find it clean; returns the file's path.
std::string fsck_clean_partition(const Disk& disk, const TempDir& work) {
  const std::string image = (work / "part.img").string();
  dump_range(*disk.image, disk.partition_offset, disk.partition_size, image);
  int rc = -1;
  const std::string fsck = run("e2fsck -fn " + image + " 2>&1", &rc);
  INFO(fsck);
  REQUIRE(rc == 0);
  return image;
}

}  // namespace

TEST_CASE("extent tree block counts") {
  CHECK(extent_tree_block_count(0) == 0);
  CHECK(extent_tree_block_count(4) == 0);             // all in the inode
  CHECK(extent_tree_block_count(5) == 1);             // one leaf
  CHECK(extent_tree_block_count(340) == 1);
  CHECK(extent_tree_block_count(341) == 2);
  CHECK(extent_tree_block_count(340 * 4) == 4);       // four leaves under the inode
  CHECK(extent_tree_block_count(340 * 4 + 1) == 6);   // five leaves + one index block
  CHECK(extent_tree_block_count(2000) == 7);          // six leaves + one index block
  CHECK(extent_tree_block_count(340 * 340 * 4) == 340 * 4 + 4);
  CHECK(extent_tree_block_count(340 * 340 * 4 + 1) == 341 * 4 + 1 + 1 + 1);
}

TEST_CASE("append_extents splits long runs at 32768 blocks") {
  std::vector<FileExtent> out;
  append_extents(7, {{1000, 100000}, {200000, 5}}, out);
  REQUIRE(out.size() == 5);
  const uint32_t lengths[] = {32768, 32768, 32768, 100000 - 3 * 32768, 5};
  uint32_t logical = 7, physical = 1000;
  for (size_t i = 0; i < 4; ++i) {
    CHECK(out[i].logical == logical);
    CHECK(out[i].physical == physical);
    CHECK(out[i].length == lengths[i]);
    logical += lengths[i];
    physical += lengths[i];
  }
  CHECK(out[4].logical == 7 + 100000);
  CHECK(out[4].physical == 200000);
  CHECK(out[4].length == 5);
}

TEST_CASE("write_extent_tree for 2000 extents: depth 2, packed leaves") {
  std::vector<FileExtent> extents;
  for (uint32_t i = 0; i < 2000; ++i) extents.push_back({i * 3, 2, 100000 + i * 5});
  const uint32_t nblocks = extent_tree_block_count(extents.size());
  REQUIRE(nblocks == 7);
  std::vector<uint32_t> tree_blocks;
  for (uint32_t i = 0; i < nblocks; ++i) tree_blocks.push_back(5000 + 10 * i);
  std::vector<uint8_t> bytes(size_t(nblocks) * kBlockSize, 0xCC);
  uint8_t i_block[60];
  std::memset(i_block, 0xCC, sizeof i_block);
  write_extent_tree(extents, tree_blocks, bytes.data(), i_block);

  // Root: one index entry, depth 2.
  CHECK(le(i_block, 2) == 0xF30A);
  CHECK(le(i_block + 2, 2) == 1);
  CHECK(le(i_block + 4, 2) == 4);
  CHECK(le(i_block + 6, 2) == 2);
  const uint32_t index_block = uint32_t(le(i_block + 12 + 4, 4));
  CHECK(le(i_block + 12, 4) == 0);  // first logical block under it
  CHECK(all_zero(i_block + 24, 36));

  // Find blocks by their physical number.
  auto block_at = [&](uint32_t physical) -> const uint8_t* {
    for (uint32_t i = 0; i < nblocks; ++i)
      if (tree_blocks[i] == physical) return bytes.data() + size_t(i) * kBlockSize;
    FAIL("no tree block " << physical);
    return nullptr;
  };
  const uint8_t* idx = block_at(index_block);
  CHECK(le(idx, 2) == 0xF30A);
  CHECK(le(idx + 6, 2) == 1);  // depth 1: points at leaves
  REQUIRE(le(idx + 2, 2) == 6);
  size_t seen = 0;
  for (uint32_t leaf = 0; leaf < 6; ++leaf) {
    const uint8_t* ie = idx + 12 + 12 * leaf;
    CHECK(le(ie, 4) == extents[seen].logical);
    const uint8_t* lb = block_at(uint32_t(le(ie + 4, 4)));
    CHECK(le(lb, 2) == 0xF30A);
    CHECK(le(lb + 4, 2) == 340);
    CHECK(le(lb + 6, 2) == 0);
    const uint64_t entries = le(lb + 2, 2);
    CHECK(entries == (leaf < 5 ? 340 : 2000 - 5 * 340));
    for (uint64_t j = 0; j < entries; ++j, ++seen) {
      const uint8_t* e = lb + 12 + 12 * j;
      REQUIRE(le(e, 4) == extents[seen].logical);
      REQUIRE(le(e + 4, 2) == extents[seen].length);
      REQUIRE(le(e + 6, 2) == 0);
      REQUIRE(le(e + 8, 4) == extents[seen].physical);
    }
    // The tail of a leaf is zeroed, not left over.
    CHECK(all_zero(lb + 12 + 12 * entries, kBlockSize - 12 - 12 * entries));
  }
  CHECK(seen == 2000);
}

TEST_CASE("write_inline_extents fills the inode's i_block") {
  const FileExtent ex[2] = {{0, 10, 500}, {10, 32768, 9000}};
  uint8_t i_block[60];
  std::memset(i_block, 0xCC, sizeof i_block);
  write_inline_extents(ex, 2, i_block);
  CHECK(le(i_block, 2) == 0xF30A);
  CHECK(le(i_block + 2, 2) == 2);
  CHECK(le(i_block + 4, 2) == 4);
  CHECK(le(i_block + 6, 2) == 0);
  CHECK(le(i_block + 24 + 4, 2) == 32768);
  CHECK(le(i_block + 24 + 8, 4) == 9000);
  CHECK(all_zero(i_block + 36, 24));
}

TEST_CASE("ext4 volume from a directory passes e2fsck and keeps names, links and times",
          "[ext4][tools]") {
  TempDir src;
  TempDir work;
  namespace fs = std::filesystem;
  fs::create_directory(src / "many");
  for (int i = 0; i < 500; ++i) {
    const std::string name(size_t(i % 255 + 1), char('a' + i / 255));
    write_file(src / ("many/" + name), vdiskfs::test::pattern_bytes(size_t(i % 7), uint32_t(i)));
  }
  const std::string target59 = "/" + std::string(58, 'f');
  const std::string target60 = "/" + std::string(59, 's');
  REQUIRE(target59.size() == 59);
  REQUIRE(target60.size() == 60);
  fs::create_symlink(target59, src / "fast");
  fs::create_symlink(target60, src / "slow");
  write_file(src / "empty", {});
  const std::vector<uint8_t> data = vdiskfs::test::pattern_bytes(10000, 42);
  write_file(src / "data", data);
  fs::create_hard_link(src / "data", src / "many" / "data-link");
  // Sparse, with more data runs than fit the inode: needs an extent block.
  std::vector<uint8_t> holes(6 << 20, 0);
  {
    const int fd = ::open((src / "holes").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    for (int i = 0; i < 6; ++i) {
      const std::vector<uint8_t> chunk = vdiskfs::test::pattern_bytes(4096, uint32_t(100 + i));
      std::copy(chunk.begin(), chunk.end(), holes.begin() + (i << 20));
      REQUIRE(pwrite(fd, chunk.data(), chunk.size(), off_t(i) << 20) == 4096);
    }
    REQUIRE(ftruncate(fd, off_t(holes.size())) == 0);
    close(fd);
  }
  write_file(src / "future", {'x'});
  write_file(src / "past", {'y'});
  set_times(src / "future", 4102444800, 123456789);  // 2100-01-01T00:00:00.123456789Z
  set_times(src / "past", -315619200, 987654321);    // 1960-01-01T00:00:00.987654321Z

  ScanReport report;
  auto source = DirectorySource::open(src.path().string(), ScanOptions{}, report);
  CHECK(report.skipped.empty());
  DiskOptions opts;
  opts.free_space = SizeSpec{0, 0, false};
  opts.min_free_bytes = 4 << 20;
  const Disk disk = build_disk(*source, opts);
  REQUIRE(disk.partition_size == disk.volume.blocks * 4096);
  REQUIRE(disk.partition_offset % (1 << 20) == 0);
  REQUIRE(disk.partition_offset + disk.partition_size <= disk.image->size());

  // Superblock, read through the whole disk.
  uint8_t sbuf[1024];
  REQUIRE(disk.image->read(disk.partition_offset + 1024, sbuf, sizeof sbuf) == Status::ok);
  const SuperBlock sb = load<SuperBlock>(sbuf);
  CHECK(sb.s_magic.get() == 0xEF53);
  CHECK(sb.s_inodes_count.get() == disk.volume.inodes);
  CHECK((sb.s_blocks_count_lo.get() | uint64_t(sb.s_blocks_count_hi) << 32) == disk.volume.blocks);
  CHECK((sb.s_free_blocks_count_lo.get() | uint64_t(sb.s_free_blocks_count_hi) << 32) == disk.volume.free_blocks);
  CHECK(sb.s_free_inodes_count.get() == disk.volume.free_inodes);
  CHECK(sb.s_log_block_size.get() == 2);
  CHECK(disk.volume.inodes >= source->tree().nodes.size() + 10);
  CHECK(std::memcmp(sb.s_uuid, disk.fs_uuid.data(), 16) == 0);

  const std::string image = fsck_clean_partition(disk, work);

  auto stat_of = [&](const std::string& path) {
    return run("TZ=UTC debugfs -R 'stat " + path + "' " + image + " 2>/dev/null");
  };
  SECTION("fast and slow symlinks") {
    const std::string fast = stat_of("/fast");
    CHECK(line_with(fast, "Fast link dest:").find(target59) != std::string::npos);
    CHECK(line_with(fast, "Size:").find("Size: 59") != std::string::npos);
    const std::string slow = stat_of("/slow");
    CHECK(slow.find("Type: symlink") != std::string::npos);
    CHECK(slow.find("Fast link dest:") == std::string::npos);
    CHECK(line_with(slow, "Size:").find("Size: 60") != std::string::npos);
    // The slow link's data block holds the target.
    const std::string dumped = (work / "slow.out").string();
    run("debugfs -R 'dump /slow " + dumped + "' " + image + " 2>/dev/null");
    std::ifstream f(dumped, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(text == target60);
  }
  SECTION("file data and names") {
    const std::string dumped = (work / "data.out").string();
    run("debugfs -R 'dump /data " + dumped + "' " + image + " 2>/dev/null");
    std::ifstream f(dumped, std::ios::binary);
    std::vector<uint8_t> back((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(back == data);
    CHECK(line_with(stat_of("/empty"), "Size:").find("Size: 0") != std::string::npos);
    CHECK(line_with(stat_of("/many/data-link"), "Links:").find("Links: 2") != std::string::npos);
    const std::string listing = run("debugfs -R 'ls -p /many' " + image + " 2>/dev/null");
    size_t names = 0;
    for (size_t at = listing.find("/\n"); at != std::string::npos; at = listing.find("/\n", at + 1))
      ++names;
    CHECK(names == 503);  // 500 files, data-link, "." and ".."
    CHECK(listing.find("/" + std::string(255, 'a') + "/") != std::string::npos);
    CHECK(listing.find("/" + std::string(245, 'b') + "/") != std::string::npos);
  }
  SECTION("a sparse file with six data runs keeps its holes") {
    const std::string st = stat_of("/holes");
    CHECK(st.find("(ETB0)") != std::string::npos);  // an extent tree block
    const std::string dumped = (work / "holes.out").string();
    run("debugfs -R 'dump /holes " + dumped + "' " + image + " 2>/dev/null");
    std::ifstream f(dumped, std::ios::binary);
    std::vector<uint8_t> back((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(back.size() == holes.size());
    CHECK(back == holes);
  }
  SECTION("times beyond 2038 and before 1970 keep seconds and nanoseconds") {
    const std::string future = line_with(stat_of("/future"), " mtime:");
    CHECK(future.find("0xf4865700:1d6f3455") != std::string::npos);
    CHECK(future.find("Jan  1 00:00:00 2100") != std::string::npos);
    const std::string past = line_with(stat_of("/past"), " mtime:");
    CHECK(past.find("0xed300880:eb79a2c4") != std::string::npos);
    CHECK(past.find("Jan  1 00:00:00 1960") != std::string::npos);
  }
}

TEST_CASE("ext4 xattrs beyond the inode go to an xattr block that e2fsck and debugfs read",
          "[ext4][tools]") {
  TempDir src;
  TempDir work;
  namespace fs = std::filesystem;
  auto set = [&](const std::string& file, const std::string& name, const std::string& value) {
    REQUIRE(::setxattr((src / file).c_str(), name.c_str(), value.data(), value.size(), 0) == 0);
  };
  fs::create_directory(src / "dir");
  std::string description;
  for (int i = 0; i < 60; ++i) description += "line " + std::to_string(1000 + i) + " of a long description. ";
  std::string binary(40, '\0');
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = char(i * 37);
  write_file(src / "big", {'b'});
  set("big", "user.description", description);  // ~1.7 KiB: only a block holds it
  set("big", "user.a", "1");
  set("big", "user.binary", binary);
  set("big", "user.empty", "");
  write_file(src / "small", {'s'});
  set("small", "user.x", "y");
  // u::rw-, u:1000:r--, g::r--, g:2000:rw-, m::rw-, o::---, generic encoding.
  const std::string acl = generic_acl({{1, 6, 0xffffffff}, {2, 4, 1000}, {4, 4, 0xffffffff},
                                       {8, 6, 2000}, {0x10, 6, 0xffffffff}, {0x20, 0, 0xffffffff}});
  set("small", "system.posix_acl_access", acl);
  set("dir", "system.posix_acl_default", acl);
  set("dir", "user.notes", std::string(900, 'n'));

  ScanReport report;
  auto source = DirectorySource::open(src.path().string(), ScanOptions{}, report);
  const Tree& tree = source->tree();
  auto node_of = [&](const std::string& name) {
    const uint32_t n = tree.lookup(name);
    REQUIRE(n != kNoIndex);
    return n;
  };
  CHECK(fit_xattrs(tree, node_of("big")).needs_block);
  CHECK(fit_xattrs(tree, node_of("big")).left_out == 0);
  CHECK_FALSE(fit_xattrs(tree, node_of("small")).needs_block);
  CHECK(fit_xattrs(tree, node_of("dir")).needs_block);

  DiskOptions opts;
  opts.free_space = SizeSpec{0, 0, false};
  opts.min_free_bytes = 4 << 20;
  const Disk disk = build_disk(*source, opts);
  const std::string image = fsck_clean_partition(disk, work);

  auto file_acl = [&](const std::string& path) {
    const std::string line = line_with(run("debugfs -R 'stat " + path + "' " + image + " 2>/dev/null"), "File ACL:");
    REQUIRE_FALSE(line.empty());  // else the checks below would hold vacuously
    return line;
  };
  CHECK(file_acl("/big").find("File ACL: 0") == std::string::npos);
  CHECK(file_acl("/dir").find("File ACL: 0") == std::string::npos);
  CHECK(file_acl("/small").find("File ACL: 0") != std::string::npos);
  // Each value read back through debugfs, byte for byte.
  auto ea_get = [&](const std::string& path, const std::string& name) {
    const std::string out = (work / "value").string();
    fs::remove(out);
    run("debugfs -R 'ea_get -f " + out + " " + path + " " + name + "' " + image + " 2>&1");
    std::ifstream in(out, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(ea_get("/big", "user.description") == description);
  CHECK(ea_get("/big", "user.a") == "1");
  CHECK(ea_get("/big", "user.binary") == binary);
  CHECK(ea_get("/dir", "user.notes") == std::string(900, 'n'));
  CHECK(ea_get("/small", "user.x") == "y");
  // debugfs turns ext4's ACL encoding back into the generic one (with id 0
  // where the entry has none; the kernel says 0xffffffff there, as the
  // fs_tree integration test checks through a real mount).
  const std::string acl_as_debugfs = generic_acl({{1, 6, 0}, {2, 4, 1000}, {4, 4, 0}, {8, 6, 2000}, {0x10, 6, 0}, {0x20, 0, 0}});
  CHECK(ea_get("/small", "system.posix_acl_access") == acl_as_debugfs);
  CHECK(ea_get("/dir", "system.posix_acl_default") == acl_as_debugfs);
}

TEST_CASE("ext4 xattrs that fit neither the inode nor one block are counted as left out", "[ext4]") {
  // A tar can carry more than one ext4 inode holds (a local ext4 cannot).
  Node implied{};
  implied.mode = S_IFDIR | 0755;
  TreeBuilder b(implied);
  EntrySpec f;
  f.attrs.mode = S_IFREG | 0644;
  f.attrs.nlink = 1;
  f.xattrs = {{"user.h1", std::string(3000, '1')}, {"user.h2", std::string(3000, '2')},
              {"user.small", "s"}, {"nonsense.prefix", "x"}};
  REQUIRE(b.add("f", f) == "");
  std::vector<uint64_t> payloads;
  const Tree t = b.finish(payloads);
  const uint32_t node = t.lookup("f");
  REQUIRE(node != kNoIndex);
  const XattrFit fit = fit_xattrs(t, node);
  CHECK(fit.needs_block);
  CHECK(fit.left_out == 2);  // one 3000-byte value, and the name ext4 has no prefix for
  REQUIRE(fit.misfits.size() == 2);
  CHECK(fit.misfits[0].rfind("'nonsense.prefix' (a name without", 0) == 0);
  CHECK(fit.misfits[1] ==
        "'user.h2' (a value of 3000 bytes: it fits neither the inode nor one 4 KiB block beside the others)");
  // The block holds h1, sorted entries with a non-zero hash; user.small is in the inode.
  uint8_t block[kBlockSize];
  write_xattr_block(t, node, block);
  CHECK(le(block, 4) == 0xEA020000);
  CHECK(le(block + 4, 4) == 1);
  CHECK(le(block + 8, 4) == 1);
  CHECK(block[32] == 2);  // e_name_len of "h1"
  CHECK(block[33] == 1);  // user.
  CHECK(le(block + 32 + 12, 4) != 0);
  CHECK(std::memcmp(block + 32 + 16, "h1", 2) == 0);
  CHECK(le(block + 32 + 20, 4) == 0);  // the end marker after the one entry
  const uint32_t offs = uint32_t(le(block + 32 + 2, 2));
  CHECK(offs == kBlockSize - 3000);
  CHECK(std::string(reinterpret_cast<const char*>(block) + offs, 3000) == std::string(3000, '1'));
}

TEST_CASE("POSIX ACLs in ext4's encoding: short entries without ids, version 1") {
  const std::string generic =
      generic_acl({{1, 7, 0xffffffff}, {2, 5, 1000}, {4, 5, 0xffffffff}, {0x10, 5, 0xffffffff}, {0x20, 4, 0xffffffff}});
  std::string ext4;
  REQUIRE(acl_to_ext4(generic, ext4));
  const std::string expected("\x01\0\0\0"           // version 1
                             "\x01\0\x07\0"         // user::rwx
                             "\x02\0\x05\0\xe8\x03\0\0"  // user:1000:r-x
                             "\x04\0\x05\0"         // group::r-x
                             "\x10\0\x05\0"         // mask::r-x
                             "\x20\0\x04\0",        // other::r--
                             28);
  CHECK(ext4 == expected);
  CHECK_FALSE(acl_to_ext4(generic.substr(0, 10), ext4));            // a cut entry
  CHECK_FALSE(acl_to_ext4(std::string("\x01\0\0\0", 4), ext4));    // not version 2
  CHECK_FALSE(acl_to_ext4(generic_acl({{0x40, 7, 0}}), ext4));       // no such tag
  CHECK_FALSE(acl_to_ext4(generic_acl({{1, 9, 0}}), ext4));          // no such permission
}

namespace {

// A tree from (path, spec) entries and (link, target) hard links.
Tree tree_of(const std::vector<std::pair<std::string, EntrySpec>>& entries,
             const std::vector<std::pair<std::string, std::string>>& links = {}) {
  Node implied{};
  implied.mode = S_IFDIR | 0755;
  TreeBuilder b(implied);
  for (const auto& [path, spec] : entries) REQUIRE(b.add(path, spec) == "");
  for (const auto& [link, target] : links) REQUIRE(b.add_hard_link(link, target) == "");
  std::vector<uint64_t> payloads;
  return b.finish(payloads);
}

EntrySpec regular(uint64_t size) {
  EntrySpec e;
  e.attrs.mode = S_IFREG | 0640;
  e.attrs.size = size;
  return e;
}

// The fit notes as "path: problem; action" lines, sorted.
std::vector<std::string> note_lines(const std::vector<FitNote>& notes) {
  std::vector<std::string> lines;
  for (const FitNote& n : notes) lines.push_back(n.path + ": " + n.problem + "; " + n.action);
  std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace

TEST_CASE("fit_tree splits a file's names over inodes of at most max_links names, reading one source node") {
  EntrySpec f = regular(6);
  f.xattrs = {{"user.k", "v"}};
  std::vector<std::pair<std::string, std::string>> links;
  for (int i = 0; i < 6; ++i) links.emplace_back("d/l" + std::to_string(i), "d/f");
  const Tree src = tree_of({{"d/f", f}, {"other", regular(1)}}, links);
  const uint32_t f_node = src.lookup("d/f");
  REQUIRE(src.nodes[f_node].nlink == 7);
  Limits limits;
  limits.max_links = 3;
  std::vector<FitNote> notes;
  const auto fitted = fit_tree(src, limits, {}, notes);
  REQUIRE(fitted);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].path == "d/f");
  CHECK(notes[0].problem == "7 hard links, more than ext4's 3 per inode");
  CHECK(notes[0].action ==
        "its names are split over 3 inodes of at most 3 names each, whose data reads the same source bytes "
        "(nothing is copied)");
  const Tree& t = fitted->tree;
  REQUIRE(t.nodes.size() == src.nodes.size() + 2);
  // Each name leads to an inode that reads d/f's data, with d/f's attributes.
  std::vector<uint32_t> names_of(t.nodes.size(), 0);
  for (const char* name : {"d/f", "d/l0", "d/l1", "d/l2", "d/l3", "d/l4", "d/l5"}) {
    const uint32_t n = t.lookup(name);
    REQUIRE(n != kNoIndex);
    CHECK(fitted->source_node[n] == f_node);
    CHECK(t.nodes[n].mode == (S_IFREG | 0640));
    CHECK(t.nodes[n].size == 6);
    const auto [x, x_end] = t.xattrs_of(n);
    REQUIRE(x_end - x == 1);
    CHECK(t.xattr_value(*x) == "v");
    ++names_of[n];
  }
  std::vector<uint32_t> counts;
  for (uint32_t n = 0; n < t.nodes.size(); ++n) {
    if (!names_of[n]) continue;
    CHECK(t.nodes[n].nlink == names_of[n]);
    CHECK(t.relative_path(n).rfind("d/", 0) == 0);
    counts.push_back(names_of[n]);
  }
  CHECK(counts == std::vector<uint32_t>{3, 3, 1});
  CHECK(t.nodes[t.lookup("d")].nlink == 2);
  CHECK(fitted->source_node[t.lookup("other")] == src.lookup("other"));
  // The split inodes follow their original in the data order.
  REQUIRE(fitted->data_order.size() == 4);
  std::string order;
  for (uint32_t n : fitted->data_order) order += fitted->source_node[n] == f_node ? 'f' : 'o';
  CHECK(order == "offf");  // tree order: "other" first (named by the root, before d's children)

  // Within the limit, nothing is copied and nothing noted.
  notes.clear();
  limits.max_links = 7;
  CHECK_FALSE(fit_tree(src, limits, {}, notes));
  CHECK(notes.empty());
}

TEST_CASE("fit_tree leaves out long names, long symlink targets, huge files and entries beyond a full directory") {
  EntrySpec link;
  link.attrs.mode = S_IFLNK | 0777;
  link.link_target = std::string(30, 't');
  EntrySpec short_link = link;
  short_link.link_target = "ok";
  EntrySpec dir;
  dir.attrs.mode = S_IFDIR | 0700;
  std::vector<std::pair<std::string, EntrySpec>> entries = {
      {"keep", regular(10)},          {"huge", regular(101)},
      {"long-link", link},            {"short-link", short_link},
      {"a-very-long-dir/x", regular(1)}, {"a-very-long-dir/shared", regular(2)}};
  for (int i = 0; i < 200; ++i) entries.push_back({"full/n" + std::to_string(1000 + i), regular(0)});
  const Tree src = tree_of(entries, {{"also-shared", "a-very-long-dir/shared"}, {"huge2", "huge"}});
  Limits limits;
  limits.max_name = 12;
  limits.max_symlink = 20;
  limits.max_file_size = 100;
  limits.max_dir_blocks = 1;  // 4 KiB: ".", ".." and 254 names of 5 bytes (16 bytes each)
  std::vector<FitNote> notes;
  const auto fitted = fit_tree(src, limits, {}, notes);
  REQUIRE(fitted);
  const std::vector<std::string> lines = note_lines(notes);
  CHECK(lines == std::vector<std::string>{
                     "a-very-long-dir: a name of 15 bytes, more than ext4's 12; left out, with everything below it",
                     "huge: a file of 101 bytes, more than ext4's 100 (16 TiB - 4 KiB); left out, with its 2 names",
                     "long-link: a symlink target of 30 bytes, more than ext4's 20; left out",
                 });
  const Tree& t = fitted->tree;
  for (const char* gone : {"a-very-long-dir", "huge", "huge2", "long-link"}) CHECK(t.lookup(gone) == kNoIndex);
  for (const char* kept : {"keep", "short-link", "also-shared", "full/n1000", "full/n1199"}) {
    const uint32_t n = t.lookup(kept);
    REQUIRE(n != kNoIndex);
    CHECK(t.relative_path(n) == kept);
  }
  CHECK(t.nodes[t.lookup("also-shared")].nlink == 1);  // its other name went with the directory
  CHECK(t.link_target(t.nodes[t.lookup("short-link")]) == "ok");
  CHECK(t.nodes[0].nlink == 3);  // ".", "..", full

  // A directory over its block limit keeps the entries that fit.
  notes.clear();
  std::vector<std::pair<std::string, EntrySpec>> many;
  for (int i = 0; i < 300; ++i) many.push_back({"full/n" + std::to_string(1000 + i), regular(0)});
  const Tree big = tree_of(many);
  const auto cut = fit_tree(big, limits, {}, notes);
  REQUIRE(cut);
  REQUIRE(notes.size() == 1);
  CHECK(notes[0].path == "full");
  CHECK(notes[0].problem == "a directory of 300 entries, more than ext4 holds in 4 GiB without large_dir");
  CHECK(notes[0].action == "its last 46 entries (from 'n1254' on) are left out");
  CHECK(cut->tree.lookup("full/n1253") != kNoIndex);
  CHECK(cut->tree.lookup("full/n1254") == kNoIndex);
  CHECK(cut->tree.child_count(cut->tree.nodes[cut->tree.lookup("full")]) == 254);
}

TEST_CASE("fsck_safe_time moves times e2fsck takes for pre-1970 ones to the nearest it accepts") {
  constexpr int64_t first = (int64_t(1) << 33) + (int64_t(1) << 31), end = int64_t(3) << 32;
  CHECK(fsck_safe_time({first - 1, 999999999}) == Timestamp{first - 1, 999999999});
  CHECK(fsck_safe_time({first, 0}) == Timestamp{first - 1, 999999999});
  CHECK(fsck_safe_time({first + 100, 5}) == Timestamp{first - 1, 999999999});
  CHECK(fsck_safe_time({end - 1, 999999999}) == Timestamp{end, 0});
  CHECK(fsck_safe_time({end, 0}) == Timestamp{end, 0});
  CHECK(fsck_safe_time({1600000000, 7}) == Timestamp{1600000000, 7});
  CHECK(fsck_safe_time({-100, 0}) == Timestamp{-100, 0});
}

TEST_CASE("fit_tree notes times of 2310..2378, device numbers beyond ext4 and xattrs ext4 cannot hold") {
  EntrySpec late = regular(1);
  late.attrs.mtime = {11954318400, 0};  // 2348-10-26 04:00:00 UTC
  late.attrs.atime = {1600000000, 0};
  EntrySpec dev;
  dev.attrs.mode = S_IFCHR | 0600;
  dev.attrs.aux = makedev(5000u, 1u);
  EntrySpec small_dev = dev;
  small_dev.attrs.aux = makedev(4095u, (1u << 20) - 1);
  EntrySpec xa = regular(1);
  xa.xattrs = {{"user.big", std::string(5000, 'v')}, {"user.small", "s"}, {"nonsense.x", "y"}};
  const Tree src = tree_of({{"late", late}, {"dev", dev}, {"small-dev", small_dev}, {"xa", xa}});
  std::vector<FitNote> notes;
  const auto fitted = fit_tree(src, Limits{}, {}, notes);
  REQUIRE(fitted);
  const std::vector<std::string> lines = note_lines(notes);
  CHECK(lines == std::vector<std::string>{
      "dev: a device number 5000:1, beyond ext4's (Linux's) 4095:1048575; left out",
      "late: a time in 2310-04-04 16:10:40 .. 2378-04-22 19:24:48 UTC, which ext4 encodes as the kernel does but "
      "e2fsck (before 2242) takes for a mis-encoded pre-1970 time and would change; stored as the nearest time "
      "e2fsck accepts: mtime 2348-10-26 04:00:00 UTC as 2378-04-22 19:24:48 UTC",
      "xa: 2 of its extended attributes: 'nonsense.x' (a name without one of ext4's prefixes (user., "
      "trusted., security., system.) or over 255 bytes after it), 'user.big' (a value of 5000 bytes: it fits "
      "neither the inode nor one 4 KiB block beside the others); those are left out, the entry kept"});
  const Tree& t = fitted->tree;
  CHECK(t.lookup("dev") == kNoIndex);
  REQUIRE(t.lookup("small-dev") != kNoIndex);
  REQUIRE(t.lookup("late") != kNoIndex);
  CHECK(t.nodes[t.lookup("late")].mtime == Timestamp{int64_t(3) << 32, 0});
  CHECK(t.nodes[t.lookup("late")].atime == Timestamp{1600000000, 0});
  CHECK(fitted->split_inodes == 0);

  // Xattrs alone are noted but need no copy of the tree.
  notes.clear();
  const Tree only_xa = tree_of({{"xa", xa}});
  CHECK_FALSE(fit_tree(only_xa, Limits{}, {}, notes));
  CHECK(notes.size() == 1);
}

TEST_CASE("a volume over 16 TiB because of split hard links says so; an nlink over ext4's is an internal error") {
  // 9 TiB with 2 names and at most 1 name per inode: two inodes of 9 TiB each.
  const Tree src = tree_of({{"big", regular(9ull << 40)}}, {{"big2", "big"}});
  Limits limits;
  limits.max_links = 1;
  std::vector<FitNote> notes;
  const std::shared_ptr<const FittedTree> fitted = fit_tree(src, limits, {}, notes);
  REQUIRE(fitted);
  CHECK(fitted->split_inodes == 1);
  Options options;
  options.limits = limits;
  Plan plan(fitted->tree, options);
  plan.fitted = fitted;
  plan.data_order = fitted->data_order;
  CHECK_THROWS_WITH(layout(plan), Catch::Contains("(16 TiB); 1 inode(s) were added for files with more than 1 names") &&
                                      Catch::Contains("a split file's data counts once per inode"));
  // Without the fitting, 65001 names reach the layout: a bug, said loudly.
  std::vector<std::pair<std::string, std::string>> links;
  for (int i = 0; i < 65000; ++i) links.emplace_back("l" + std::to_string(i), "f");
  const Tree many = tree_of({{"f", regular(1)}}, links);
  Plan unfitted(many, Options{});
  CHECK_THROWS_WITH(layout(unfitted), Catch::Contains("internal error: f has 65001 names after the fitting"));
}

TEST_CASE("ext4 volume with a file split over several inodes passes e2fsck; --strict refuses it",
          "[ext4][tools]") {
  TempDir src;
  TempDir work;
  namespace fs = std::filesystem;
  fs::create_directory(src / "d");
  const std::vector<uint8_t> data = vdiskfs::test::pattern_bytes(10000, 7);
  write_file(src / "d" / "f", data);
  for (int i = 0; i < 6; ++i) fs::create_hard_link(src / "d" / "f", src / "d" / ("l" + std::to_string(i)));
  // A slow symlink with 4 names (link(2) names the symlink itself): 2 inodes, a target block each.
  const std::string target = "/" + std::string(99, 't');
  fs::create_symlink(target, src / "d" / "s");
  for (int i = 0; i < 3; ++i) fs::create_hard_link(src / "d" / "s", src / "d" / ("t" + std::to_string(i)));
  ScanReport report;
  auto source = DirectorySource::open(src.path().string(), ScanOptions{}, report);
  Options opts;
  opts.free_space = SizeSpec{0, 0, false};
  opts.min_free_bytes = 4 << 20;
  opts.limits.max_links = 3;
  VolumeInfo info;
  const auto volume = build_volume(*source, opts, &info);
  const std::string image = (work / "part.img").string();
  dump_range(*volume, 0, volume->size(), image);
  int rc = -1;
  const std::string fsck = run("e2fsck -fn " + image + " 2>&1", &rc);
  INFO(fsck);
  REQUIRE(rc == 0);
  // Three inodes (3 + 3 + 1 names), each with the whole data in blocks of its own.
  std::vector<std::string> inodes;
  for (const char* name : {"f", "l0", "l1", "l2", "l3", "l4", "l5"}) {
    const std::string st = run("debugfs -R 'stat /d/" + std::string(name) + "' " + image + " 2>/dev/null");
    const std::string links = line_with(st, "Links:");
    inodes.push_back(line_with(st, "Inode:").substr(0, line_with(st, "Inode:").find("Type")) + links.substr(links.find("Links:")));
    const std::string dumped = (work / "out").string();
    run("debugfs -R 'dump /d/" + std::string(name) + " " + dumped + "' " + image + " 2>/dev/null");
    std::ifstream f(dumped, std::ios::binary);
    CHECK(std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>()) == data);
  }
  std::sort(inodes.begin(), inodes.end());
  inodes.erase(std::unique(inodes.begin(), inodes.end()), inodes.end());
  std::string listed;
  for (const std::string& i : inodes) listed += i + " | ";
  INFO(listed);
  CHECK(inodes.size() == 3);
  std::vector<std::string> link_inodes;
  for (const char* name : {"s", "t0", "t1", "t2"}) {
    const std::string st = run("debugfs -R 'stat /d/" + std::string(name) + "' " + image + " 2>/dev/null");
    CHECK(st.find("Type: symlink") != std::string::npos);
    link_inodes.push_back(line_with(st, "Inode:").substr(0, line_with(st, "Inode:").find("Type")));
    const std::string dumped = (work / "target").string();
    run("debugfs -R 'dump /d/" + std::string(name) + " " + dumped + "' " + image + " 2>/dev/null");
    std::ifstream f(dumped, std::ios::binary);
    CHECK(std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>()) == target);
  }
  std::sort(link_inodes.begin(), link_inodes.end());
  link_inodes.erase(std::unique(link_inodes.begin(), link_inodes.end()), link_inodes.end());
  CHECK(link_inodes.size() == 2);

  opts.strict = true;
  try {
    build_volume(*source, opts, &info);
    FAIL("--strict built the volume");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) ==
          "ext4 cannot hold d/f: 7 hard links, more than ext4's 3 per inode (without --strict: its names are split "
          "over 3 inodes of at most 3 names each, whose data reads the same source bytes (nothing is copied))");
  }
}
