// FAT32: names, times and the computed FAT on their own, then whole volumes
// built from real directories and judged by dosfstools (fsck.fat), mtools
// (mdir, mcopy), sleuthkit (fls) and by a small reader of this file's own
// (boot sectors, FSInfo, FAT chains, long-name checksums, short names).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/fs/fat/fat_format.h"
#include "core/fs/fat/fat_geometry.h"
#include "core/fs/fat/fat_names.h"
#include "core/fs/fat/fat_table.h"
#include "core/fs/fat/fat_time.h"
#include "core/fs/fat/fat_volume.h"
#include "core/image/error.h"
#include "core/source/directory/directory_source.h"
#include "test_images.h"

using namespace vdiskfs;
using namespace vdiskfs::fat;
using vdiskfs::test::le;
using vdiskfs::test::pattern_bytes;
using vdiskfs::test::TempDir;
using vdiskfs::test::write_file;
namespace fs = std::filesystem;

namespace {

// What a command printed (stdout and stderr) and how it exited.
struct CommandResult {
  int status = -1;
  std::string output;
};

CommandResult shell(const std::string& cmd) {
  CommandResult r;
  FILE* pipe = popen(("MTOOLS_SKIP_CHECK=1 TZ=UTC " + cmd + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> chunk;
  for (size_t n; (n = fread(chunk.data(), 1, chunk.size(), pipe)) > 0;) r.output.append(chunk.data(), n);
  const int rc = pclose(pipe);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

// Fails the test naming the Debian package when `tool` is not installed.
void require_tool(const std::string& tool, const std::string& package) {
  INFO(tool << " is missing: install the Debian package " << package);
  REQUIRE(shell("command -v " + tool).status == 0);
}

// Writes the whole image to `path`, reading it in 1 MiB chunks (chunks of
// zeros are left as holes).
void dump_image(const Image& img, const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  std::vector<uint8_t> buf(1 << 20);
  for (uint64_t pos = 0; pos < img.size(); pos += buf.size()) {
    const size_t n = size_t(std::min<uint64_t>(buf.size(), img.size() - pos));
    REQUIRE(img.read(pos, buf.data(), n) == Status::ok);
    if (!vdiskfs::test::all_zero(buf.data(), n)) REQUIRE(pwrite(fd, buf.data(), n, off_t(pos)) == ssize_t(n));
  }
  REQUIRE(ftruncate(fd, off_t(img.size())) == 0);
  close(fd);
}

std::vector<uint8_t> read_bytes(const Image& img, uint64_t offset, size_t n) {
  std::vector<uint8_t> out(n);
  REQUIRE(img.read(offset, out.data(), n) == Status::ok);
  return out;
}

std::vector<uint8_t> file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void set_mtime(const fs::path& p, int64_t sec, long nsec) {
  const timespec ts[2] = {{time_t(sec), nsec}, {time_t(sec), nsec}};
  REQUIRE(utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

// A file of `size` bytes holding `data` at each offset of `at`, holes elsewhere.
void write_sparse(const fs::path& p, uint64_t size, const std::vector<uint64_t>& at, const std::vector<uint8_t>& data) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  for (uint64_t off : at) REQUIRE(pwrite(fd, data.data(), data.size(), off_t(off)) == ssize_t(data.size()));
  REQUIRE(ftruncate(fd, off_t(size)) == 0);
  close(fd);
}

std::unique_ptr<DirectorySource> open_source(const fs::path& p) {
  ScanReport report;
  auto s = DirectorySource::open(p.string(), ScanOptions{}, report);
  CHECK(report.skipped.empty());
  return s;
}

// UTF-16 to UTF-8, written apart from the code under test.
std::string to_utf8(const std::u16string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    uint32_t cp = s[i];
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < s.size()) cp = 0x10000 + ((cp - 0xD800) << 10) + (s[++i] - 0xDC00);
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | cp >> 6), out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | cp >> 12), out += char(0x80 | (cp >> 6 & 0x3F)), out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | cp >> 18), out += char(0x80 | (cp >> 12 & 0x3F));
      out += char(0x80 | (cp >> 6 & 0x3F)), out += char(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

// The specification's short-name checksum, written apart from the code under test.
uint8_t checksum_of(const uint8_t* name) {
  uint8_t sum = 0;
  for (int i = 0; i < 11; ++i) sum = uint8_t(((sum & 1) << 7) + (sum >> 1) + name[i]);
  return sum;
}

std::string short_text(const ShortName& n) { return std::string(n.begin(), n.end()); }

// A reader of the volume written for the tests: follows FAT chains, walks
// directories and checks what each structure promises on the way.
class VolumeReader {
 public:
  explicit VolumeReader(const Image& img) : img_(img) {
    const std::vector<uint8_t> bs = read_bytes(img, 0, 512);
    spc_ = bs[0x0D];
    reserved_ = uint32_t(le(&bs[0x0E], 2));
    fat_sectors_ = uint32_t(le(&bs[0x24], 4));
    total_ = uint32_t(le(&bs[0x20], 4));
    data_start_ = (uint64_t(reserved_) + 2ull * fat_sectors_) * 512;
    clusters_ = (total_ - reserved_ - 2ull * fat_sectors_) / spc_;
  }

  uint32_t fat(uint32_t cluster) const {
    return uint32_t(le(read_bytes(img_, uint64_t(reserved_) * 512 + cluster * 4ull, 4).data(), 4));
  }
  uint64_t cluster_offset(uint32_t c) const { return data_start_ + uint64_t(c - 2) * spc_ * 512; }
  uint32_t cluster_bytes() const { return spc_ * 512; }
  uint64_t clusters() const { return clusters_; }

  // The clusters of the chain from `first`; checks that it is contiguous.
  std::vector<uint32_t> chain(uint32_t first) const {
    std::vector<uint32_t> out;
    for (uint32_t c = first; c >= 2 && c < 0x0FFFFFF8; c = fat(c)) {
      if (!out.empty()) CHECK(c == out.back() + 1);
      out.push_back(c);
      REQUIRE(out.size() <= clusters_);
    }
    return out;
  }

  // Every path below the root ("a/b") with its short entry; checks "." and
  // "..", long-name order and checksums and unique short names on the way.
  void walk(uint32_t cluster, uint32_t parent, const std::string& prefix,
            std::map<std::string, std::vector<uint8_t>>& out) const {
    std::vector<uint8_t> bytes;
    for (uint32_t c : chain(cluster)) {
      const std::vector<uint8_t> part = read_bytes(img_, cluster_offset(c), cluster_bytes());
      bytes.insert(bytes.end(), part.begin(), part.end());
    }
    std::set<std::string> shorts;
    std::u16string long_name;
    int expect_order = 0;
    uint8_t expect_sum = 0;
    for (size_t at = 0; at < bytes.size() && bytes[at] != 0; at += 32) {
      const uint8_t* e = &bytes[at];
      if (e[11] == 0x0F) {  // long-name entry
        const int order = e[0] & 0x3F;
        if (e[0] & 0x40) {
          CHECK(expect_order == 0);
          long_name.assign(size_t(order) * 13, u'\0');
          expect_sum = e[13];
        } else {
          CHECK(order == expect_order);
          CHECK(e[13] == expect_sum);
        }
        static constexpr int kUnitOffsets[13] = {1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30};
        for (int k = 0; k < 13; ++k) long_name[size_t(order - 1) * 13 + k] = char16_t(le(e + kUnitOffsets[k], 2));
        expect_order = order - 1;
        continue;
      }
      const std::string name83(reinterpret_cast<const char*>(e), 11);
      const uint32_t first = uint32_t(le(e + 0x14, 2) << 16 | le(e + 0x1A, 2));
      if (name83 == ".          " || name83 == "..         ") {
        CHECK(first == (name83[1] == '.' ? parent : cluster));
        continue;
      }
      if (e[11] & 0x08) continue;  // the volume label
      CHECK(shorts.insert(name83).second);
      INFO("short entry " << name83 << " in " << prefix);
      REQUIRE(!long_name.empty());  // every name has a long name here
      CHECK(expect_order == 0);
      CHECK(checksum_of(e) == expect_sum);
      const size_t end = long_name.find(u'\0');
      for (size_t k = end == std::u16string::npos ? long_name.size() : end + 1; k < long_name.size(); ++k)
        CHECK(long_name[k] == 0xFFFF);
      const std::string path = prefix + to_utf8(long_name.substr(0, end));
      long_name.clear();
      out[path] = std::vector<uint8_t>(e, e + 32);
      if (e[11] & 0x10) walk(first, cluster == 2 ? 0 : cluster, path + "/", out);
    }
  }

 private:
  const Image& img_;
  uint32_t spc_, reserved_, fat_sectors_, total_;
  uint64_t data_start_, clusters_;
};

// The regular files and directories below `root`, by relative path.
std::map<std::string, fs::file_status> tree_of(const fs::path& root) {
  std::map<std::string, fs::file_status> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it)
    out[fs::relative(it->path(), root).string()] = it->symlink_status();
  return out;
}

// `path` as mtools 4.0 writes it out: it cannot convert code points above
// U+FFFF (surrogate pairs) and writes '_' for each of their two units.
std::string as_mtools_names(const std::string& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if ((uint8_t(path[i]) & 0xF8) == 0xF0) {
      out += "__";
      i += 3;
    } else {
      out += path[i];
    }
  }
  return out;
}

// Requires `copy` (what mcopy extracted) to hold the names, contents and
// mtimes (within FAT's 2 s) of `source`.
void require_same_tree(const fs::path& source, const fs::path& copy) {
  const auto want = tree_of(source), got = tree_of(copy);
  std::set<std::string> want_names, got_names;
  for (const auto& [p, _] : want) want_names.insert(as_mtools_names(p));
  for (const auto& [p, _] : got) got_names.insert(p);
  REQUIRE(got_names == want_names);
  for (const auto& [p, st] : want) {
    INFO(p);
    if (!fs::is_regular_file(st)) continue;
    const fs::path copied = copy / as_mtools_names(p);
    CHECK(file_bytes(copied) == file_bytes(source / p));
    struct stat a {}, b {};
    REQUIRE(::stat((source / p).c_str(), &a) == 0);
    REQUIRE(::stat(copied.c_str(), &b) == 0);
    if (a.st_mtim.tv_sec >= 315532800)  // from 1980 on: FAT's range
      CHECK((a.st_mtim.tv_sec - b.st_mtim.tv_sec == 0 || a.st_mtim.tv_sec - b.st_mtim.tv_sec == 1));
  }
}

// Requires fsck.fat -n -v to exit 0 and print nothing but its report.
void require_fsck_clean(const std::string& image) {
  const CommandResult r = shell("fsck.fat -n -v " + image);
  INFO(r.output);
  REQUIRE(r.status == 0);
  static const char* const kReport[] = {
      "fsck.fat ", "Checking ", "Boot sector contents", "System ID", "Media byte", "bytes per logical sector",
      "bytes per cluster", "reserved sectors", "First FAT starts", "FATs, 32 bit entries", "bytes per FAT",
      "Root directory start", "Data area starts", "data clusters", "sectors/track", "hidden sectors",
      "sectors total", "Volume ID", "Volume label"};
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    bool known = line.rfind(image + ": ", 0) == 0;  // the closing summary
    for (const char* k : kReport) known = known || line.find(k) != std::string::npos;
    INFO("fsck.fat said: " << line);
    CHECK(known);
  }
}

// Sizes around the cluster size `cb` and the sector size.
std::set<uint64_t> edge_sizes(uint32_t cb) { return {1, 511, 512, 513, cb - 1, cb, cb + 1, 3ull * cb}; }

}  // namespace

TEST_CASE("UTF-8 names become UTF-16 with surrogate pairs; bad UTF-8 is refused", "[fat]") {
  std::u16string out;
  REQUIRE(utf8_to_utf16("a\xC3\xA9\xE6\x97\xA5\xF0\x9F\x98\x80", &out));
  CHECK(out == std::u16string{u'a', 0xE9, 0x65E5, 0xD83D, 0xDE00});
  CHECK(!utf8_to_utf16("\xC0\xAF", &out));          // overlong '/'
  CHECK(!utf8_to_utf16("\xED\xA0\x80", &out));      // a surrogate
  CHECK(!utf8_to_utf16("\xF4\x90\x80\x80", &out));  // above U+10FFFF
  CHECK(!utf8_to_utf16("abc\xE6\x97", &out));       // cut short
  CHECK(!utf8_to_utf16("\x80", &out));
}

TEST_CASE("long names FAT forbids are refused with the reason", "[fat]") {
  std::u16string u;
  CHECK(long_name_problem("ok name.txt", &u).empty());
  CHECK(long_name_problem("a+b,c;d=e[f]", &u).empty());  // valid in long names
  CHECK(long_name_problem("a:b", &u) == "the name holds ':', which FAT forbids");
  for (const char* bad : {"a\"b", "a*b", "a<b", "a>b", "a?b", "a\\b", "a|b"})
    CHECK(long_name_problem(bad, &u).find("which FAT forbids") != std::string::npos);
  CHECK(long_name_problem("tab\there", &u) == "the name holds a control character, which FAT forbids");
  CHECK(long_name_problem("dot.", &u).find("ends with a period") != std::string::npos);
  CHECK(long_name_problem(" lead", &u).find("starts or ends with a space") != std::string::npos);
  CHECK(long_name_problem(std::string(255, 'x'), &u).empty());
  // 128 four-byte characters: 512 bytes, 256 UTF-16 units.
  std::string wide;
  for (int i = 0; i < 128; ++i) wide += "\xF0\x9F\x98\x80";
  CHECK(long_name_problem(wide, &u) == "the name is 256 UTF-16 units long; FAT holds at most 255");
  CHECK(long_name_problem("\xFF", &u) == "the name is not valid UTF-8");
}

TEST_CASE("short names follow the basis-name algorithm with unique ~N tails", "[fat]") {
  auto names = [](std::vector<std::string> utf8) {
    std::vector<std::u16string> u(utf8.size());
    for (size_t i = 0; i < utf8.size(); ++i) REQUIRE(utf8_to_utf16(utf8[i], &u[i]));
    std::vector<std::string> out;
    for (const ShortName& s : assign_short_names(u)) out.push_back(short_text(s));
    return out;
  };
  CHECK(names({"readme.txt", "MAKEFILE", "a.b"}) ==
        std::vector<std::string>{"README  TXT", "MAKEFILE   ", "A       B  "});
  CHECK(names({"A very long name.text", ".hidden", "foo.bar.baz", "x y", "a+b.c"}) ==
        std::vector<std::string>{"AVERYL~1TEX", "HIDDEN~1   ", "FOO~1   BAZ", "XY~1       ", "A_B~1   C  "});
  CHECK(names({"Gr\xC3\xBC\xC3\x9F" "e.txt", "\xF0\x9F\x98\x80.txt"}) ==
        std::vector<std::string>{"GR__E~1 TXT", "_~1     TXT"});
  // A name that fits 8.3 keeps it, even when a tail would have taken it first.
  CHECK(names({"longname1.txt", "LONGNA~1.TXT"}) == std::vector<std::string>{"LONGNA~2TXT", "LONGNA~1TXT"});
  std::vector<std::string> many;
  for (int i = 1; i <= 12; ++i) many.push_back("longfilename" + std::to_string(i) + ".txt");
  const std::vector<std::string> got = names(many);
  CHECK(got[0] == "LONGFI~1TXT");
  CHECK(got[8] == "LONGFI~9TXT");
  CHECK(got[9] == "LONGF~10TXT");
  CHECK(std::set<std::string>(got.begin(), got.end()).size() == got.size());
  // Names whose bases differ but whose tails share a prefix ("file10000",
  // "file10010": bases FILE1000 and FILE1001, tails FILE10~N) take the
  // lowest free tails in order, and all stay unique.
  std::vector<std::string> alike;
  for (int i = 10000; i < 12000; ++i) alike.push_back("file" + std::to_string(i));
  const std::vector<std::string> tails = names(alike);
  CHECK(tails[0] == "FILE10~1   ");
  CHECK(tails[8] == "FILE10~9   ");
  CHECK(tails[9] == "FILE1~10   ");
  CHECK(tails[98] == "FILE1~99   ");
  CHECK(tails[99] == "FILE~100   ");
  CHECK(tails[999] == "FIL~1000   ");
  CHECK(tails[1000] == "FILE11~1   ");  // file11000: another prefix, its own tails
  CHECK(std::set<std::string>(tails.begin(), tails.end()).size() == tails.size());
}

TEST_CASE("case folding, volume labels and the short-name checksum", "[fat]") {
  CHECK(fold_case(u"abc\u00e9\u00ff\u03b1\u0430\u0450") == u"ABC\u00c9\u0178\u0391\u0410\u0400");
  CHECK(short_text(make_volume_label("")) == "NO NAME    ");
  CHECK(short_text(make_volume_label("efi boot")) == "EFI BOOT   ");
  CHECK_THROWS_WITH(make_volume_label("twelve bytes"), Catch::Contains("at most 11"));
  CHECK_THROWS_WITH(make_volume_label("a:b"), Catch::Contains("holds ':'"));
  const ShortName n = make_volume_label("FOO     BAR");
  CHECK(short_name_checksum(n) == checksum_of(n.data()));
  // Long-name entries: order, checksum, terminator and padding.
  std::vector<uint8_t> slots(64);
  write_long_name(u"0123456789abcd", 0x5A, slots.data());
  CHECK(slots[0] == 0x42);  // second and last part, stored first
  CHECK(slots[32] == 0x01);
  CHECK(slots[11] == 0x0F);
  CHECK(slots[13] == 0x5A);
  CHECK(le(&slots[1], 2) == 'd');     // unit 14
  CHECK(le(&slots[3], 2) == 0x0000);  // terminator
  CHECK(le(&slots[5], 2) == 0xFFFF);  // padding
  CHECK(le(&slots[30], 2) == 0xFFFF);
  CHECK(le(&slots[32 + 30], 2) == 'c');  // unit 13
}

TEST_CASE("times: 2 s write times, 10 ms creation times, clamped to 1980..2107", "[fat]") {
  // 2001-02-03 04:05:07.789 UTC
  const FatTime t = to_fat_time(Timestamp{981173107, 789000000}, false);
  CHECK(t.date == ((2001 - 1980) << 9 | 2 << 5 | 3));
  CHECK(t.time == (4 << 11 | 5 << 5 | 3));
  CHECK(t.centis == 178);
  CHECK(!t.clamped);
  const FatTime early = to_fat_time(Timestamp{0, 0}, false);
  CHECK(early.clamped);
  CHECK(format_fat_time(early) == "1980-01-01 00:00:00");
  const FatTime late = to_fat_time(Timestamp{7258118400, 0}, false);  // 2200-01-01
  CHECK(late.clamped);
  CHECK(format_fat_time(late) == "2107-12-31 23:59:58");
  CHECK(late.centis == 199);
  CHECK(format_time(Timestamp{981173107, 0}, false) == "2001-02-03 04:05:07");
}

TEST_CASE("times in local time follow the process's time zone", "[fat]") {
  const char* old = std::getenv("TZ");
  const std::string saved = old ? old : "";
  setenv("TZ", "UTC-2", 1);  // two hours east of UTC
  tzset();
  const FatTime local = to_fat_time(Timestamp{981173107, 0}, true);  // 04:05:07 UTC
  const FatTime utc = to_fat_time(Timestamp{981173107, 0}, false);
  if (old) setenv("TZ", saved.c_str(), 1); else unsetenv("TZ");
  tzset();
  CHECK(local.time >> 11 == 6);
  CHECK(utc.time >> 11 == 4);
  CHECK(local.date == utc.date);
}

TEST_CASE("the computed FAT chains each run and leaves the rest free", "[fat]") {
  const FatTableImage fat({{2, 1}, {3, 3}, {10, 2}}, 1);
  CHECK(fat.size() == 512);
  const std::vector<uint32_t> want = {0x0FFFFFF8, 0x0FFFFFFF, 0x0FFFFFFF, 4, 5, 0x0FFFFFFF,  // clusters 0..5
                                      0, 0, 0, 0, 11, 0x0FFFFFFF, 0};                       // clusters 6..12
  const std::vector<uint8_t> bytes = read_bytes(fat, 0, 512);
  for (size_t c = 0; c < want.size(); ++c) CHECK(le(&bytes[c * 4], 4) == want[c]);
  CHECK(vdiskfs::test::all_zero(&bytes[want.size() * 4], 512 - want.size() * 4));
  // Any byte range reads the same bytes.
  for (uint64_t off : {1, 6, 13, 41})
    CHECK(read_bytes(fat, off, 9) == std::vector<uint8_t>(&bytes[off], &bytes[off + 9]));
  std::vector<ByteRange> ranges;
  fat.data_ranges(ranges);
  REQUIRE(ranges.size() == 1);
  CHECK(ranges[0].length == 512);
}

TEST_CASE("geometry: the specification's cluster-size table and FAT32's minimum", "[fat]") {
  CHECK(table_sectors_per_cluster(100000) == 1);
  CHECK(table_sectors_per_cluster(532480) == 1);
  CHECK(table_sectors_per_cluster(532481) == 8);
  CHECK(table_sectors_per_cluster(16777217) == 16);
  CHECK(table_sectors_per_cluster(67108865) == 64);
  for (uint32_t spc : {1u, 8u, 64u}) {
    const Geometry g = geometry_for(spc, 10);
    CHECK(g.clusters >= 65525);
    CHECK(g.total_sectors >= 66600);
    CHECK(g.total_sectors % 2048 == 0);
    CHECK(uint64_t(g.fat_sectors) * 128 >= g.clusters + 2);
    CHECK((32 + 2 * g.fat_sectors) % std::max(spc, 8u) == 0);
    CHECK(32 + 2ull * g.fat_sectors + g.clusters * spc <= g.total_sectors);
  }
  FatOptions o;
  o.cluster_bytes = 3000;
  CHECK_THROWS_WITH(choose_geometry([](uint32_t) { return 1; }, o), Catch::Contains("power of two"));
  o.cluster_bytes = 512;
  CHECK_THROWS_WITH(choose_geometry([](uint32_t) { return uint64_t(1) << 33; }, o),
                    Catch::Contains("FAT32 holds at most"));
}

TEST_CASE("FAT32 volume from a directory passes fsck.fat, mtools and sleuthkit", "[fat][tools]") {
  require_tool("fsck.fat", "dosfstools");
  require_tool("mcopy", "mtools");
  require_tool("fls", "sleuthkit");
  const uint32_t cluster_bytes = GENERATE(0u, 4096u);
  CAPTURE(cluster_bytes);
  const uint32_t cb = cluster_bytes ? cluster_bytes : 512;  // 512: what the table gives this small volume
  TempDir src, work;
  fs::create_directories(src / "docs/sub/deeper");
  write_file(src / "docs/sub/deeper/file.txt", pattern_bytes(3000, 1));
  write_file(src / "A very long file name that is far beyond eight dot three.text", pattern_bytes(100, 2));
  write_file(src / "Gr\xC3\xBC\xC3\x9F" "e aus M\xC3\xBC" "nchen.txt", pattern_bytes(10, 3));
  write_file(src / "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E.txt", pattern_bytes(20, 4));
  write_file(src / "\xF0\x9F\x98\x80 smile.txt", pattern_bytes(30, 5));
  write_file(src / "UPPER.TXT", pattern_bytes(5, 6));
  write_file(src / "lower.txt", pattern_bytes(6, 7));
  write_file(src / "Mixed.Case.Name.tar.gz", pattern_bytes(7, 8));
  for (int i = 1; i <= 12; ++i)
    write_file(src / ("docs/longfilename" + std::to_string(i) + ".txt"), pattern_bytes(size_t(i), uint32_t(i)));
  write_file(src / "empty", {});
  for (uint64_t size : edge_sizes(cb))
    write_file(src / ("size-" + std::to_string(size)), pattern_bytes(size_t(size), uint32_t(size)));
  const std::vector<uint8_t> chunk = pattern_bytes(8192, 9);
  write_sparse(src / "sparse", 8 << 20, {0, 5 << 20}, chunk);
  write_file(src / "linked", pattern_bytes(5000, 10));
  fs::create_hard_link(src / "linked", src / "docs" / "hard link");
  write_file(src / "read-only", pattern_bytes(40, 11));
  fs::permissions(src / "read-only", fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  set_mtime(src / "docs/sub/deeper/file.txt", 981173107, 789000000);  // 2001-02-03 04:05:07.789
  set_mtime(src / "empty", 1700000001, 0);
  write_file(src / "old", pattern_bytes(3, 12));
  set_mtime(src / "old", 0, 0);  // 1970: clamped to 1980

  auto source = open_source(src.path());
  FatOptions opts;
  opts.volume_id = 0x5A1B2C3D;
  opts.label = "Efi Part";
  opts.hidden_sectors = 2048;
  opts.cluster_bytes = cluster_bytes;
  opts.free_space = SizeSpec{0, 0, false};
  opts.min_free_bytes = 8 << 20;
  FatVolumeInfo info;
  const auto volume = build_fat_volume(*source, opts, &info);
  REQUIRE(info.cluster_bytes == cb);
  CHECK(info.clusters >= 65525);
  CHECK(info.skipped.empty());
  REQUIRE(info.clamped_times.size() >= 1);
  CHECK(info.clamped_times[0].rfind("old: mtime 1970-01-01 00:00:00 UTC", 0) == 0);
  size_t regular_files = 0;
  for (const auto& [p, st] : tree_of(src.path())) regular_files += fs::is_regular_file(st);
  CHECK(info.files == regular_files);
  CHECK(info.directories == 4);
  REQUIRE(volume->size() == info.total_sectors * 512);
  const std::string image = (work / "fat.img").string();
  dump_image(*volume, image);

  SECTION("boot sector, backup, FSInfo and FATs") {
    const std::vector<uint8_t> bs = read_bytes(*volume, 0, 512);
    CHECK(le(&bs[0x0B], 2) == 512);
    CHECK(bs[0x0D] == cb / 512);
    CHECK(le(&bs[0x0E], 2) == 32);
    CHECK(bs[0x10] == 2);
    CHECK(le(&bs[0x11], 2) == 0);
    CHECK(le(&bs[0x13], 2) == 0);
    CHECK(bs[0x15] == 0xF8);
    CHECK(le(&bs[0x16], 2) == 0);
    CHECK(le(&bs[0x1C], 4) == 2048);
    CHECK(le(&bs[0x20], 4) == info.total_sectors);
    CHECK(le(&bs[0x24], 4) == info.fat_sectors);
    CHECK(le(&bs[0x2C], 4) == 2);
    CHECK(le(&bs[0x30], 2) == 1);
    CHECK(le(&bs[0x32], 2) == 6);
    CHECK(bs[0x42] == 0x29);
    CHECK(le(&bs[0x43], 4) == 0x5A1B2C3D);
    CHECK(std::string(&bs[0x47], &bs[0x52]) == "EFI PART   ");
    CHECK(std::string(&bs[0x52], &bs[0x5A]) == "FAT32   ");
    CHECK((bs[510] == 0x55 && bs[511] == 0xAA));
    CHECK(read_bytes(*volume, 6 * 512, 1024) == read_bytes(*volume, 0, 1024));
    const std::vector<uint8_t> fsi = read_bytes(*volume, 512, 512);
    CHECK(le(&fsi[0], 4) == 0x41615252);
    CHECK(le(&fsi[0x1E4], 4) == 0x61417272);
    CHECK(le(&fsi[0x1FC], 4) == 0xAA550000);
    // Count free clusters in the FAT; both copies equal.
    const uint64_t fat_bytes = uint64_t(info.fat_sectors) * 512;
    const std::vector<uint8_t> fat1 = read_bytes(*volume, 32 * 512, fat_bytes);
    CHECK(read_bytes(*volume, 32 * 512 + fat_bytes, fat_bytes) == fat1);
    CHECK(le(&fat1[0], 4) == 0x0FFFFFF8);
    CHECK(le(&fat1[4], 4) == 0x0FFFFFFF);
    uint64_t free = 0, first_free = 0;
    for (uint64_t c = 2; c < info.clusters + 2; ++c)
      if (le(&fat1[c * 4], 4) == 0 && free++ == 0) first_free = c;
    CHECK(free == info.free_clusters);
    CHECK(le(&fsi[0x1E8], 4) == free);
    CHECK(le(&fsi[0x1EC], 4) == first_free);
    CHECK(info.used_clusters + info.free_clusters == info.clusters);
  }
  SECTION("directories: dot entries, long names, checksums, unique short names, contiguous files") {
    const VolumeReader reader(*volume);
    std::map<std::string, std::vector<uint8_t>> entries;
    reader.walk(2, 0, "", entries);
    std::vector<std::string> walked, source_paths;
    for (const auto& [p, _] : entries) walked.push_back(p);
    for (const auto& [p, _] : tree_of(src.path())) source_paths.push_back(p);
    CHECK(walked == source_paths);
    for (const auto& [p, e] : entries) {
      INFO(p);
      const fs::path sp = src / p;
      if (fs::is_directory(sp)) {
        CHECK(e[11] == 0x10);
        continue;
      }
      const uint64_t size = fs::file_size(sp);
      CHECK(le(&e[0x1C], 4) == size);
      CHECK(e[11] == (p == "read-only" ? 0x21 : 0x20));
      const uint32_t first = uint32_t(le(&e[0x14], 2) << 16 | le(&e[0x1A], 2));
      CHECK(reader.chain(first).size() == (size + reader.cluster_bytes() - 1) / reader.cluster_bytes());
      // The data at the first cluster is the file's (hard links: each name its own clusters).
      const std::vector<uint8_t> want = file_bytes(sp);
      if (size) CHECK(read_bytes(*volume, reader.cluster_offset(first), size_t(size)) == want);
    }
    const std::vector<uint8_t>& dated = entries.at("docs/sub/deeper/file.txt");
    CHECK(le(&dated[0x18], 2) == ((2001 - 1980) << 9 | 2 << 5 | 3));  // write date
    CHECK(le(&dated[0x16], 2) == (4 << 11 | 5 << 5 | 3));              // write time, 2 s
    CHECK(le(entries.at("linked").data() + 0x1A, 2) != le(entries.at("docs/hard link").data() + 0x1A, 2));
  }
  SECTION("fsck.fat finds nothing") { require_fsck_clean(image); }
  SECTION("mdir lists and mcopy extracts the same tree with its mtimes") {
    const CommandResult dir = shell("mdir -i " + image + " -/ ::");
    INFO(dir.output);
    CHECK(dir.status == 0);
    CHECK(dir.output.find("Volume in drive : is EFI PART") != std::string::npos);
    CHECK(dir.output.find("Volume Serial Number is 5A1B-2C3D") != std::string::npos);
    CHECK(dir.output.find("A very long file name that is far beyond eight dot three.text") != std::string::npos);
    const fs::path out = work / "out";
    fs::create_directory(out);
    const CommandResult copy = shell("mcopy -s -m -i " + image + " :: " + out.string());
    INFO(copy.output);
    REQUIRE(copy.status == 0);
    require_same_tree(src.path(), out);
    CHECK(shell("mattrib -i " + image + " ::/read-only").output.find("R") != std::string::npos);
  }
  SECTION("fls lists every file") {
    const CommandResult ls = shell("fls -r " + image);
    INFO(ls.output);
    REQUIRE(ls.status == 0);
    for (const auto& [p, _] : tree_of(src.path()))
      CHECK(ls.output.find(":\t" + fs::path(p).filename().string() + "\n") != std::string::npos);
  }
}

TEST_CASE("FAT32 refuses what it cannot hold, listing every entry, or leaves it out", "[fat][tools]") {
  require_tool("fsck.fat", "dosfstools");
  TempDir src, work;
  write_file(src / "ok.txt", pattern_bytes(10, 1));
  fs::create_symlink("ok.txt", src / "link");
  REQUIRE(mkfifo((src / "pipe").c_str(), 0644) == 0);
  REQUIRE(mknod((src / "null").c_str(), S_IFCHR | 0644, makedev(1, 3)) == 0);
  {
    const int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(s >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", (src / "sock").c_str());
    REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    close(s);
  }
  write_sparse(src / "big", 4ull << 30, {}, {});
  // The largest file that fsck.fat 4.2 can check: its chain length in
  // bytes is a 32-bit count, so a file of 4 GiB - 1 (whose chain takes
  // 4 GiB) reads to it as a chain of 0 bytes.
  write_sparse(src / "just-under-4g", (4ull << 30) - 32768, {}, {});
  write_file(src / "bad:name", {});
  write_file(src / "ends.", {});
  write_file(src / "README", pattern_bytes(3, 2));
  write_file(src / "readme", pattern_bytes(4, 3));
  fs::create_directories(src / "sub");
  write_file(src / "sub/what?", {});
  fs::create_directories(src / "bad|dir/inner");
  write_file(src / "bad|dir/inner/x*y", {});

  ScanReport report;
  auto source = DirectorySource::open(src.path().string(), ScanOptions{}, report);
  FatOptions opts;
  opts.free_space = SizeSpec{0, 0, false};
  opts.min_free_bytes = 0;
  opts.cluster_bytes = 32768;  // 4 GiB takes 131,072 clusters
  const std::vector<std::string> expected = {
      "bad:name: the name holds ':', which FAT forbids",
      "bad|dir: the name holds '|', which FAT forbids",
      "big: a file of 4294967296 bytes; FAT holds files under 4 GiB (4294967295 bytes at most)",
      "ends.: the name starts or ends with a space or ends with a period, which FAT drops",
      "link: a symbolic link; FAT has none",
      "null: a device; FAT has none",
      "pipe: a fifo; FAT has none",
      "readme: the same name as 'README' when case is ignored, as FAT compares names",
      "sock: a socket; FAT has none",
      "sub/what?: the name holds '?', which FAT forbids",
      "bad|dir/inner/x*y: the name holds '*', which FAT forbids",
  };
  SECTION("refused with the list") {
    try {
      build_fat_volume(*source, opts, nullptr);
      FAIL("no error");
    } catch (const Error& e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(msg.rfind("FAT32 cannot hold 11 entries of directory " + src.path().string() +
                          " (--skip-unsupported leaves them out):", 0) == 0);
      for (const std::string& line : expected) CHECK(msg.find("\n  " + line) != std::string::npos);
    }
  }
  SECTION("left out and listed with skip_unsupported") {
    opts.skip_unsupported = true;
    FatVolumeInfo info;
    const auto volume = build_fat_volume(*source, opts, &info);
    std::vector<std::string> skipped = info.skipped;
    CHECK(skipped == expected);
    const std::string image = (work / "fat.img").string();
    dump_image(*volume, image);
    require_fsck_clean(image);
    const VolumeReader reader(*volume);
    std::map<std::string, std::vector<uint8_t>> entries;
    reader.walk(2, 0, "", entries);
    std::vector<std::string> names;
    for (const auto& [p, _] : entries) names.push_back(p);
    CHECK(names == std::vector<std::string>{"README", "just-under-4g", "ok.txt", "sub"});
    CHECK(le(entries.at("just-under-4g").data() + 0x1C, 4) == 0xFFFF8000u);
  }
}
