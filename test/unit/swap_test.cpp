// Swap areas: the header page decoded field by field, zeros elsewhere,
// the refusals, the layout text; then the whole area compared byte for byte
// with what util-linux's mkswap writes for the same size, UUID and label,
// and read back by blkid and swaplabel.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "core/fs/swap_area.h"
#include "core/image/error.h"
#include "test_images.h"

using namespace vdiskfs;
using vdiskfs::test::all_zero;
using vdiskfs::test::le;
using vdiskfs::test::TempDir;

namespace {

constexpr char kUuidText[] = "01234567-89ab-4cde-8f01-23456789abcd";

// 64 MiB with the UUID kUuidText and `label`.
SwapOptions sample_options(const std::string& label = "backup-swap") {
  SwapOptions o;
  o.bytes = 64ull << 20;
  REQUIRE(parse_uuid(kUuidText, o.uuid));
  o.label = label;
  return o;
}

std::vector<uint8_t> read_bytes(const Image& img, uint64_t offset, size_t len) {
  std::vector<uint8_t> buf(len, 0xAA);
  REQUIRE(img.read(offset, buf.data(), len) == Status::ok);
  return buf;
}

// What `cmd` printed on stdout and stderr; the test fails unless it exits 0.
std::string tool_output(const std::string& cmd) {
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string text;
  char chunk[4096];
  for (size_t n; (n = fread(chunk, 1, sizeof chunk, pipe)) > 0;) text.append(chunk, n);
  const int rc = pclose(pipe);
  INFO(cmd << " printed:\n" << text);
  REQUIRE((WIFEXITED(rc) && WEXITSTATUS(rc) == 0));
  return text;
}

// Fails the test naming the Debian package when `tool` is missing.
void require_tool(const std::string& tool, const std::string& package) {
  INFO(tool << " is missing: install the Debian package " << package);
  REQUIRE(system(("command -v " + tool + " >/dev/null").c_str()) == 0);
}

// Writes the ranges data_ranges() lists to a file of the image's size (the
// rest holes), so the file shows what a sparse container would hold.
void write_data_ranges(const Image& img, const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  std::vector<ByteRange> ranges;
  img.data_ranges(ranges);
  for (const ByteRange& r : ranges) {
    const std::vector<uint8_t> bytes = read_bytes(img, r.offset, size_t(r.length));
    REQUIRE(pwrite(fd, bytes.data(), bytes.size(), off_t(r.offset)) == ssize_t(bytes.size()));
  }
  REQUIRE(ftruncate(fd, off_t(img.size())) == 0);
  close(fd);
}

}  // namespace

TEST_CASE("swap header page holds the version 1 fields, the UUID, the label and the magic", "[swap]") {
  const SwapOptions options = sample_options();
  const Volume v = build_swap(options);
  REQUIRE(v.image->size() == 64ull << 20);
  const std::vector<uint8_t> page = read_bytes(*v.image, 0, 4096);
  CHECK(all_zero(page.data(), 0x400));                  // bootbits
  CHECK(le(&page[0x400], 4) == 1);                      // version
  CHECK(le(&page[0x404], 4) == (64u << 20) / 4096 - 1);  // last_page
  CHECK(le(&page[0x408], 4) == 0);                      // nr_badpages
  const std::vector<uint8_t> uuid{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0x4c, 0xde,
                                  0x8f, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd};
  CHECK(std::vector<uint8_t>(&page[0x40C], &page[0x41C]) == uuid);
  CHECK(std::string(reinterpret_cast<const char*>(&page[0x41C]), 11) == "backup-swap");
  CHECK(all_zero(&page[0x41C + 11], 0xFF6 - (0x41C + 11)));  // label padding, padding, badpages
  CHECK(std::string(reinterpret_cast<const char*>(&page[0xFF6]), 10) == "SWAPSPACE2");
}

TEST_CASE("swap area is zeros after its header page and only that page is data", "[swap]") {
  const Volume v = build_swap(sample_options());
  std::vector<ByteRange> ranges;
  v.image->data_ranges(ranges);
  REQUIRE(ranges.size() == 1);
  CHECK(ranges[0].offset == 0);
  CHECK(ranges[0].length == 4096);
  const uint64_t size = v.image->size();
  for (uint64_t offset : {uint64_t(4096), uint64_t(1) << 20, size / 2 + 123, size - 8192}) {
    const std::vector<uint8_t> bytes = read_bytes(*v.image, offset, 8192);
    CHECK(all_zero(bytes.data(), bytes.size()));
  }
  // A read across the header page's end: its magic, then zeros.
  const std::vector<uint8_t> across = read_bytes(*v.image, 4086, 30);
  CHECK(std::string(reinterpret_cast<const char*>(across.data()), 10) == "SWAPSPACE2");
  CHECK(all_zero(across.data() + 10, 20));
}

TEST_CASE("swap volume reports its type, UUID, label, pages and facts", "[swap]") {
  const Volume v = build_swap(sample_options());
  CHECK(v.type == "swap");
  CHECK(v.uuid_text == kUuidText);
  CHECK(v.uuid == sample_options().uuid);
  CHECK(v.label == "backup-swap");
  CHECK(v.block_size == 4096);
  CHECK(v.blocks == 16384);
  CHECK(v.free_blocks == 0);
  CHECK(v.inodes == 0);
  CHECK(v.facts == std::vector<Fact>{{"swap_bytes", "67108864"}, {"swap_pages", "16384"}});
}

TEST_CASE("swap default is 1 GiB; the smallest area is 10 pages", "[swap]") {
  SwapOptions options;
  CHECK(build_swap(options).image->size() == 1ull << 30);
  options.bytes = 10 * 4096;
  const Volume v = build_swap(options);
  CHECK(le(read_bytes(*v.image, 0x404, 4).data(), 4) == 9);
  CHECK(v.uuid_text == "00000000-0000-0000-0000-000000000000");
}

TEST_CASE("swap refuses sizes off the page, too small or too large, and long labels", "[swap]") {
  SwapOptions options;
  options.bytes = (1ull << 30) + 512;
  CHECK_THROWS_WITH(build_swap(options),
                    Catch::Contains("swap size 1073742336 bytes is not a multiple of the 4096-byte page"));
  options.bytes = 9 * 4096;
  CHECK_THROWS_WITH(build_swap(options), Catch::Contains("swap size 36864 bytes is under 10 pages (40960 bytes)"));
  options.bytes = 0;
  CHECK_THROWS_WITH(build_swap(options), Catch::Contains("swap size 0 bytes is under 10 pages"));
  options.bytes = ((1ull << 32) + 1) * 4096;
  CHECK_THROWS_WITH(build_swap(options), Catch::Contains("is over 2^32 pages"));
  options.bytes = (1ull << 32) * 4096;  // last_page 2^32 - 1: the largest header
  CHECK_NOTHROW(build_swap(options));
  options.bytes = 1ull << 30;
  options.label = "seventeen-bytes!!";
  CHECK_THROWS_WITH(build_swap(options),
                    Catch::Contains("swap label 'seventeen-bytes!!' is longer than the 16 bytes"));
  CHECK_THROWS_WITH(swap_layout(options), Catch::Contains("seventeen-bytes!!"));
  options.label = "sixteen-bytes-ok";
  CHECK_NOTHROW(build_swap(options));
}

TEST_CASE("swap layout text names size, UUID and label", "[swap]") {
  CHECK(swap_layout(sample_options()) == "swap;bytes=67108864;uuid=01234567-89ab-4cde-8f01-23456789abcd;label=backup-swap");
  CHECK(swap_layout(SwapOptions{}) == "swap;bytes=1073741824;uuid=00000000-0000-0000-0000-000000000000;label=");
}

TEST_CASE("swap area equals mkswap's and blkid and swaplabel read it", "[swap]") {
  for (const char* tool : {"mkswap", "blkid", "swaplabel"}) require_tool(tool, "util-linux");
  require_tool("cmp", "diffutils");
  // mkswap and swaplabel write at most 15 label bytes (and a NUL); blkid
  // and swaplabel read all 16, so a 16-byte label is compared by reading.
  for (const std::string label : {"backup-swap", "sixteen-bytes-ok"}) {
    const TempDir dir;
    const std::string ours = (dir / "ours.swap").string();
    const Volume v = build_swap(sample_options(label));
    write_data_ranges(*v.image, ours);
    if (label.size() < 16) {
      const std::string theirs = (dir / "mkswap.swap").string();
      tool_output("truncate -s 64M " + theirs + " && mkswap -U " + kUuidText + " -L " + label + " " + theirs);
      tool_output("cmp " + ours + " " + theirs);
    }
    const std::string probe = tool_output("blkid -p " + ours);
    CHECK_THAT(probe, Catch::Contains("TYPE=\"swap\"") && Catch::Contains("VERSION=\"1\"") &&
                          Catch::Contains(std::string("UUID=\"") + kUuidText + "\"") &&
                          Catch::Contains("LABEL=\"" + label + "\""));
    CHECK(tool_output("swaplabel " + ours) == "LABEL: " + label + "\nUUID:  " + kUuidText + "\n");
  }
}
