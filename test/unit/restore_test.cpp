#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/delta/overlay_file.h"
#include "core/delta/page_store.h"
#include "core/image/error.h"
#include "core/restore/restore_job.h"
#include "core/restore/restore_record.h"
#include "test_images.h"

using namespace vdiskfs;
using vdiskfs::test::BytesImage;
using vdiskfs::test::TempDir;

namespace {

// A base whose data is only its first `data` bytes (the rest reads zeros).
class SparseBytesImage final : public BytesImage {
 public:
  SparseBytesImage(std::vector<uint8_t> bytes, uint64_t data) : BytesImage(std::move(bytes)), data_(data) {}
  void data_ranges(std::vector<ByteRange>& out) const override { out.push_back({0, data_}); }

 private:
  uint64_t data_;
};

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string wait_settled(const RestoreJob& job) {
  for (int i = 0; i < 2000; ++i) {
    const std::string s = job.state();
    if (s != "copying" && s != "verifying") return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return "timeout";
}

}  // namespace

TEST_CASE("chunk runs round-trip through flags") {
  std::vector<bool> flags(20, false);
  for (uint64_t i : {0, 1, 2, 5, 9, 10, 19}) flags[i] = true;
  const std::vector<ChunkRun> runs = chunk_runs(flags);
  REQUIRE(runs.size() == 4);
  CHECK(runs[0].first == 0);
  CHECK(runs[0].count == 3);
  CHECK(runs[3].first == 19);
  std::vector<bool> back(20, false);
  set_chunk_runs(runs, back);
  CHECK(back == flags);
  set_chunk_runs({{18, 100}}, back);  // past the end: ignored, not a crash
  CHECK(back[18]);
}

TEST_CASE("a restore record is saved and loaded; another version is refused") {
  TempDir dir;
  const std::string path = (dir.path() / "x.img.restore").string();
  RestoreRecord r;
  CHECK_FALSE(load_restore_record(path, &r));
  r.file = "x.img";
  r.target = "/t/x.img";
  r.identity = "abc:x.img:100";
  r.disk_bytes = 100 << 20;
  r.chunk_bytes = 1 << 20;
  r.state = "copying";
  r.copied = {{0, 3}, {7, 1}};
  r.dirty = {{2, 1}};
  r.mirrored_writes = 5;
  r.digest = 0x1234567890abcdefULL;
  REQUIRE(save_restore_record(path, r).empty());
  RestoreRecord back;
  REQUIRE(load_restore_record(path, &back));
  CHECK(back.target == r.target);
  CHECK(back.copied.size() == 2);
  CHECK(back.copied[1].first == 7);
  CHECK(back.dirty[0].first == 2);
  CHECK(back.mirrored_writes == 5);
  CHECK(back.digest == r.digest);
  std::ofstream(path) << R"({"version": 99})";
  CHECK_THROWS_AS(load_restore_record(path, &back), Error);
  std::ofstream(path) << "not json";
  CHECK_THROWS_AS(load_restore_record(path, &back), Error);
}

TEST_CASE("a restore copies the data and the delta, mirrors writes, verifies, and resumes") {
  TempDir dir;
  const uint64_t size = 8 << 20;
  std::vector<uint8_t> bytes(size, 0);
  for (uint64_t i = 0; i < (3 << 20); ++i) bytes[i] = uint8_t(i * 13 + 1);
  auto base = std::make_shared<SparseBytesImage>(bytes, 3 << 20);
  auto overlay = std::make_shared<OverlayFile>(base, std::make_unique<MemoryPageStore>(DeltaSize{size, size}));
  // A write before the restore (in the delta, chunk 6) and one during it.
  const std::vector<uint8_t> before(4096, 0xb0), during(8192, 0xd0), after(4096, 0xa0);
  REQUIRE(ok(overlay->write(6 << 20, before.data(), before.size())));
  const std::string target = (dir.path() / "t.img").string();
  const std::string record = (dir.path() / "x.img.restore").string();
  auto make_job = [&](bool reuse) {
    RestoreJobInput in;
    in.image = overlay;
    in.base = base;
    in.delta_pages = [overlay] { return overlay->delta_pages(); };
    in.target = open_restore_target(target, size, reuse);
    in.record_path = record;
    if (!load_restore_record(record, &in.record)) in.record.file = "x.img", in.record.target = target;
    return std::make_unique<RestoreJob>(std::move(in));
  };
  {
    auto job = make_job(false);
    REQUIRE(ok(overlay->write((5 << 20) + 100, during.data(), during.size())));
    job->guest_written((5 << 20) + 100, during.data(), during.size());
    job->start();
    REQUIRE(wait_settled(*job) == "verified");
    REQUIRE(ok(overlay->write(7 << 20, after.data(), after.size())));
    job->guest_written(7 << 20, after.data(), after.size());
    const nlohmann::ordered_json st = job->status();
    CHECK(st["mirrored_writes"] == 2);
    CHECK(st["bytes_total"] == uint64_t(6 << 20));  // 3 data chunks, the delta's chunk 6, the written 5 and 7
    job->stop();
    CHECK(job->state() == "stopped");
  }
  std::vector<uint8_t> want(size);
  REQUIRE(ok(overlay->read(0, want.data(), size)));
  CHECK(file_bytes(target) == want);
  // Resumed: the recorded chunks are kept; the delta's chunks (5, 6, 7)
  // are copied again.
  REQUIRE(ok(overlay->write(1 << 20, after.data(), after.size())));  // unmirrored: nothing ran
  auto job = make_job(true);
  job->start();
  REQUIRE(wait_settled(*job) == "verified");
  CHECK(job->status()["bytes_copied_this_run"] == uint64_t(4 << 20));
  REQUIRE(ok(overlay->read(0, want.data(), size)));
  CHECK(file_bytes(target) == want);
  CHECK(job->finish().empty());
  CHECK(job->state() == "finished");
  // A truncate fails a running restore (the target would hold a longer file).
  auto again = make_job(true);
  again->start();
  again->resized(size - 4096);
  CHECK(again->state() == "failed");
  CHECK(again->status()["reason"].get<std::string>().find("truncated") != std::string::npos);
}
