// Frozen layers (core/delta/frozen_layer.h): freezing a delta folder, and
// freezing the open deltas of a served file; stacking the layers under a
// clone's file; the linkage faults of a stack.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "core/delta/delta_log.h"
#include "core/delta/delta_set.h"
#include "core/delta/frozen_layer.h"
#include "core/delta/overlay_file.h"
#include "core/image/error.h"
#include "test_images.h"

using namespace vdiskfs;
using namespace vdiskfs::test;

namespace {

constexpr const char* kBase = "0123456789abcdef0123456789abcdef";  // the disk's identity (hex)
constexpr uint64_t kSize = 20000;

std::vector<uint8_t> image_bytes(const Image& image) {
  std::vector<uint8_t> out(image.size());
  REQUIRE(image.read(0, out.data(), out.size()) == Status::ok);
  return out;
}

// A delta folder of disk "d" over `base` as a mount leaves it: a manifest
// and d.img.delta; returns the overlay writing to it.
std::shared_ptr<OverlayFile> delta_folder(const std::string& dir, std::shared_ptr<const Image> base) {
  std::filesystem::create_directories(dir);
  std::ofstream(manifest_path(dir)) << "vdiskfs-manifest 1\nidentity\t" << kBase << "\nlayout\t\n";
  return std::make_shared<OverlayFile>(
      base, DeltaLog::create(dir + "/d.img.delta", {delta_base_identity(kBase, "d.img", kSize), kSize, 0}));
}

void write(OverlayFile& f, uint64_t offset, uint8_t value, size_t len) {
  const std::vector<uint8_t> bytes(len, value);
  REQUIRE(f.write(offset, bytes.data(), bytes.size()) == Status::ok);
}

}  // namespace

TEST_CASE("frozen layer: a delta folder frozen, stacked under a clone's file, its faults", "[delta][clone]") {
  TempDir tmp;
  const std::string dir = tmp.path() / "d", layer = tmp.path() / "d-1";
  auto base = std::make_shared<BytesImage>(pattern_bytes(kSize, 7));
  std::vector<uint8_t> model = base->bytes();
  {
    auto overlay = delta_folder(dir, base);
    write(*overlay, 5000, 0xa1, 3000);
    REQUIRE(overlay->sync() == Status::ok);
  }
  std::fill(model.begin() + 5000, model.begin() + 8000, 0xa1);

  const LayerInfo info = freeze_deltas(dir, layer, "d-1", "d");
  CHECK(info.below == kBase);
  CHECK(info.disk == "d");
  REQUIRE(info.files.size() == 1);
  CHECK(info.files[0].name == "d.img.delta");
  CHECK(!std::filesystem::exists(dir + "/d.img.delta"));
  CHECK(manifest_identity(dir) == info.identity);
  CHECK(read_layer_info(layer).identity == info.identity);

  // A clone "c" of it: its .img is the base with the frozen pages.
  const auto stacked = stack_layers({layer}, ".img", base, kBase);
  CHECK(image_bytes(*stacked) == model);
  CHECK(stack_identity({layer}, kBase) == info.identity);
  CHECK(layer_faults({layer}, kBase).empty());

  SECTION("over another identity: the source changed") {
    const auto faults = layer_faults({layer}, "ffffffffffffffffffffffffffffffff");
    REQUIRE(faults.size() == 1);
    CHECK(faults[0].find("layer d-1 (" + layer + ") was frozen over identity " + kBase) != std::string::npos);
    CHECK_THROWS_AS(stack_layers({layer}, ".img", base, "ffffffffffffffffffffffffffffffff"), Error);
  }
  SECTION("a frozen delta written to") {
    std::fstream f(layer + "/d.img.delta", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4200);
    f.put('x');
    f.close();
    const auto faults = layer_faults({layer}, kBase);
    REQUIRE(faults.size() == 1);
    CHECK(faults[0].find("was written to after it was frozen: its bytes changed") != std::string::npos);
  }
  SECTION("a frozen delta missing") {
    std::filesystem::remove(layer + "/d.img.delta");
    const auto faults = layer_faults({layer}, kBase);
    REQUIRE(faults.size() == 1);
    CHECK(faults[0].find("is missing") != std::string::npos);
  }
  SECTION("a folder that is no layer") {
    const auto faults = layer_faults({dir}, kBase);
    REQUIRE(faults.size() == 1);
    CHECK(faults[0].find("is not a frozen layer") != std::string::npos);
  }
}

TEST_CASE("frozen layer: the open delta of a served file frozen in place", "[delta][clone]") {
  TempDir tmp;
  const std::string dir = tmp.path() / "d", layer = tmp.path() / "d-1";
  auto base = std::make_shared<BytesImage>(pattern_bytes(kSize, 9));
  auto overlay = delta_folder(dir, base);
  write(*overlay, 0, 0xb1, 4096);
  write(*overlay, 19000, 0xb2, 3000);  // grows the file to 22000 bytes
  const std::vector<uint8_t> at_freeze = image_bytes(*overlay);

  const LayerInfo info = freeze_served_deltas(dir, layer, "d-1", "d", {{"d.img", overlay.get()}});
  // The file reads the same, and goes on writing to a new delta over the layer.
  CHECK(image_bytes(*overlay) == at_freeze);
  CHECK(overlay->delta_pages().empty());
  write(*overlay, 8192, 0xb3, 100);
  std::vector<uint8_t> now = at_freeze;
  std::fill(now.begin() + 8192, now.begin() + 8292, 0xb3);
  CHECK(image_bytes(*overlay) == now);
  CHECK(DeltaLog::read_header(dir + "/d.img.delta").base_identity ==
        delta_base_identity(info.identity, "d.img", at_freeze.size()));
  // The layer holds the state at the freeze, not the write after it.
  CHECK(image_bytes(*stack_layers({layer}, ".img", base, kBase)) == at_freeze);
  CHECK(layer_faults({layer}, kBase).empty());
}
