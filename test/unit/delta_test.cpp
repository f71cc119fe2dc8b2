#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "core/delta/delta_log.h"
#include "core/delta/overlay_file.h"
#include "core/error.h"
#include "test_images.h"

using namespace vdiskfs;
using vdiskfs::test::BytesImage;
using vdiskfs::test::TempDir;

namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7);
  return v;
}

std::vector<uint8_t> read_all(const OverlayFile& f) {
  std::vector<uint8_t> v(f.size());
  REQUIRE(ok(f.read(0, v.data(), v.size())));
  return v;
}

}  // namespace

TEST_CASE("overlay reads newest bytes, grows and shrinks like a file") {
  const auto base_bytes = pattern(10000, 1);
  auto base = std::make_shared<BytesImage>(base_bytes);
  OverlayFile f(base, std::make_unique<MemoryPageStore>(DeltaSize{10000, 10000}));
  std::vector<uint8_t> model = base_bytes;

  // An unaligned write spanning pages keeps the bytes around it.
  const auto w = pattern(5000, 99);
  REQUIRE(ok(f.write(3000, w.data(), w.size())));
  std::copy(w.begin(), w.end(), model.begin() + 3000);
  CHECK(read_all(f) == model);

  // Growing by a write past the end: the gap reads as zeros.
  const auto tail = pattern(100, 5);
  REQUIRE(ok(f.write(12000, tail.data(), tail.size())));
  model.resize(12100, 0);
  std::copy(tail.begin(), tail.end(), model.begin() + 12000);
  CHECK(f.size() == 12100);
  CHECK(read_all(f) == model);

  // Shrinking hides base bytes for good: growing again shows zeros.
  REQUIRE(ok(f.truncate(2500)));
  model.resize(2500);
  CHECK(read_all(f) == model);
  REQUIRE(ok(f.truncate(9000)));
  model.resize(9000, 0);
  CHECK(read_all(f) == model);
}

TEST_CASE("delta log survives reopen and cuts a torn tail") {
  TempDir dir;
  const std::string path = dir.path().string() + "/x.delta";
  const auto base_bytes = pattern(65536, 3);
  auto base = std::make_shared<BytesImage>(base_bytes);
  std::vector<uint8_t> model = base_bytes;
  {
    OverlayFile f(base, DeltaLog::create(path, {"id|x.img|65536", 65536, 0}));
    const auto w = pattern(9000, 42);
    REQUIRE(ok(f.write(100, w.data(), w.size())));
    std::copy(w.begin(), w.end(), model.begin() + 100);
    REQUIRE(ok(f.truncate(60000)));
    model.resize(60000);
    REQUIRE(ok(f.sync()));
  }
  // A torn record at the end, as from a write cut short by SIGKILL.
  {
    const int fd = open(path.c_str(), O_WRONLY | O_APPEND);
    REQUIRE(fd >= 0);
    const char junk[100] = "DLTR partial record";
    REQUIRE(write(fd, junk, sizeof junk) == ssize_t(sizeof junk));
    close(fd);
  }
  auto log = DeltaLog::open(path);
  CHECK(log->recovered_bytes() == 100);
  CHECK(log->header().base_identity == "id|x.img|65536");
  OverlayFile f(base, std::move(log));
  CHECK(f.size() == 60000);
  CHECK(read_all(f) == model);
}

TEST_CASE("a delta in use by another mount is refused") {
  TempDir dir;
  const std::string path = dir.path().string() + "/y.delta";
  auto first = DeltaLog::create(path, {"id", 4096, 0});
  CHECK_THROWS_AS(DeltaLog::open(path), Error);
}

TEST_CASE("an overwritten delta log is compacted and keeps the newest bytes") {
  TempDir dir;
  const std::string path = dir.path().string() + "/z.delta";
  const uint64_t size = 1 << 20;
  auto base = std::make_shared<BytesImage>(pattern(size, 9));
  std::vector<uint8_t> model = pattern(size, 9);
  {
    auto log = DeltaLog::create(path, {"id|z.img|1048576", size, 0});
    log->set_compaction_threshold(256 * 1024);
    OverlayFile f(base, std::move(log));
    for (int round = 0; round < 200; ++round) {  // 200 x 16 KiB over the same 4 pages
      const auto w = pattern(16384, uint8_t(round));
      REQUIRE(ok(f.write(8192, w.data(), w.size())));
      std::copy(w.begin(), w.end(), model.begin() + 8192);
    }
    CHECK(read_all(f) == model);
    CHECK(f.store().pages_held() == 4);
  }
  auto reopened = DeltaLog::open(path);
  CHECK(reopened->log_bytes() < 512 * 1024);  // not 200 x 16 KiB
  OverlayFile f(base, std::move(reopened));
  CHECK(read_all(f) == model);
}
