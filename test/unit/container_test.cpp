#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "core/image/endian.h"
#include "core/image/error.h"
#include "formats/allocation_map.h"
#include "formats/format_table.h"
#include "formats/qcow2_header.h"
#include "formats/registry.h"
#include "formats/table_image.h"
#include "formats/vdi_header.h"
#include "formats/vhd_header.h"
#include "formats/vmdk_header.h"
#include "test_images.h"

using namespace vdiskfs;

TEST_CASE("allocation map allocates every unit a data range touches", "[container]") {
  // Units of 100 bytes over a 1000-byte disk.
  std::vector<ByteRange> data = {{0, 1}, {150, 100}, {250, 10}, {999, 1}};
  AllocationMap m(data, 100, 1000);
  CHECK(m.total_units() == 10);
  CHECK(m.allocated() == 4);  // units 0, 1, 2, 9
  CHECK(m.ordinal(0) == 0);
  CHECK(m.ordinal(1) == 1);
  CHECK(m.ordinal(2) == 2);
  CHECK(m.ordinal(3) == AllocationMap::kNone);
  CHECK(m.ordinal(9) == 3);
  CHECK(m.allocated_in(0, 5) == 3);
  CHECK(m.allocated_in(3, 6) == 0);
  CHECK(m.allocated_in(5, 5) == 1);
  REQUIRE(m.runs().size() == 2);
  CHECK(m.runs()[0].first == 0);
  CHECK(m.runs()[0].count == 3);
  CHECK(m.runs()[1].first == 9);
  CHECK(m.runs()[1].ordinal == 3);
}

TEST_CASE("allocation map of an empty disk allocates nothing", "[container]") {
  AllocationMap m({}, 65536, 1 << 30);
  CHECK(m.allocated() == 0);
  CHECK(m.ordinal(0) == AllocationMap::kNone);
}

TEST_CASE("table image serves whole and partial entries alike", "[container]") {
  // Entry i is the big-endian 32-bit value i * 3.
  TableImage table(1000, 4, [](uint64_t first, uint64_t count, uint8_t* out) {
    for (uint64_t i = 0; i < count; ++i) put_be32(out + 4 * i, uint32_t((first + i) * 3));
  });
  REQUIRE(table.size() == 4000);
  std::vector<uint8_t> whole(4000);
  REQUIRE(ok(table.read(0, whole.data(), whole.size())));
  for (uint32_t i = 0; i < 1000; ++i) REQUIRE(get_be32(whole.data() + 4 * i) == i * 3);
  // Every unaligned window equals the same bytes of the whole read.
  for (uint64_t off : {1u, 2u, 3u, 5u, 1001u, 3997u}) {
    for (size_t len : {1u, 2u, 3u, 7u, 100u}) {
      if (off + len > 4000) continue;
      std::vector<uint8_t> part(len);
      REQUIRE(ok(table.read(off, part.data(), len)));
      REQUIRE(std::equal(part.begin(), part.end(), whole.begin() + long(off)));
    }
  }
}

namespace {

// A disk of `size` bytes that reads as zeros; `data` are its data ranges.
class ZeroDisk final : public Image {
 public:
  ZeroDisk(uint64_t size, std::vector<ByteRange> data) : size_(size), data_(std::move(data)) {}
  uint64_t size() const override { return size_; }
  Status read(uint64_t, uint8_t* buf, size_t len) const override {
    std::memset(buf, 0, len);
    return Status::ok;
  }
  void data_ranges(std::vector<ByteRange>& out) const override { out.insert(out.end(), data_.begin(), data_.end()); }

 private:
  uint64_t size_;
  std::vector<ByteRange> data_;
};

ContainerInput input_of(std::shared_ptr<const Image> disk) {
  ContainerInput in;
  in.disk = std::move(disk);
  in.disk->data_ranges(in.data);
  in.identity = {0x0123456789abcdefull, 0xfedcba9876543210ull};
  in.name = "disk";
  in.timestamp_ns = 1700000000ll * 1000000000;
  return in;
}

// An 8 MiB disk whose bytes i hold i % 251, all data.
ContainerInput small_input() {
  std::vector<uint8_t> bytes(8 << 20);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = uint8_t(i % 251);
  return input_of(std::make_shared<test::BytesImage>(std::move(bytes)));
}

std::vector<uint8_t> read_all(const Image& image, uint64_t offset, size_t len) {
  std::vector<uint8_t> out(len);
  REQUIRE(ok(image.read(offset, out.data(), len)));
  return out;
}

const ContainerFile& file_with(const std::vector<ContainerFile>& files, const std::string& suffix) {
  for (const ContainerFile& f : files)
    if (f.suffix == suffix) return f;
  FAIL("no file " << suffix);
  throw;
}

}  // namespace

TEST_CASE("the format table: unique names and suffixes, each row builds one file per suffix", "[container]") {
  const ContainerInput in = small_input();
  std::set<std::string_view> names, suffixes;
  for (const ContainerFormat& f : container_formats()) {
    INFO(f.name);
    CHECK(names.insert(f.name).second);
    REQUIRE(f.build);
    REQUIRE(disk_fits(f, in));
    const std::vector<ContainerFile> files = f.build(in, f);
    REQUIRE(files.size() == f.files.size());
    for (size_t i = 0; i < files.size(); ++i) {
      CHECK(suffixes.insert(f.files[i].suffix).second);
      CHECK(files[i].suffix == f.files[i].suffix);
      CHECK(files[i].image->size() % 512 == 0);
      CHECK(!f.files[i].qemu_format.empty());
    }
    CHECK(f.limit.empty() == (!f.max_disk_bytes && !f.within_other_limit));
  }
}

TEST_CASE("--formats names the table's formats", "[container]") {
  std::vector<std::string> all;
  for (const ContainerFormat& f : container_formats()) all.emplace_back(f.name);
  CHECK(parse_formats("all") == all);
  CHECK(parse_formats("") == all);
  CHECK(parse_formats("vhd,img,vhd") == std::vector<std::string>{"vhd", "img"});
  CHECK_THROWS_WITH(parse_formats("img,bogus"),
                    "unknown format 'bogus' in --formats; choose from img, vmdk, vmdk-flat, vhd, vhd-fixed, vdi, qcow2");
  CHECK_THROWS_AS(parse_formats(","), Error);
}

TEST_CASE("build_containers: a disk beyond a format's limit", "[container]") {
  const auto all = parse_formats("all");
  SECTION("above 2040 GiB: no VHD files, the others in the table's order") {
    const ContainerInput in = input_of(std::make_shared<ZeroDisk>((2040ull << 30) + 512, std::vector<ByteRange>{{0, 1 << 20}}));
    std::vector<std::string> got;
    for (const ContainerFile& f : build_containers(in, all)) got.push_back(f.suffix);
    CHECK(got == std::vector<std::string>{".img", ".vmdk", "-flat.vmdk", "-esx.vmdk", ".vdi", ".qcow2"});
  }
  SECTION("at 2040 GiB: VHD files") {
    const ContainerInput in = input_of(std::make_shared<ZeroDisk>(2040ull << 30, std::vector<ByteRange>{{0, 1 << 20}}));
    CHECK(build_containers(in, {"vhd", "vhd-fixed"}).size() == 2);
  }
  SECTION("more than 2 TiB of data: a monolithicSparse VMDK is refused") {
    const uint64_t size = 3ull << 40;
    const ContainerInput in = input_of(std::make_shared<ZeroDisk>(size, std::vector<ByteRange>{{0, size}}));
    for (const ContainerFormat& f : container_formats()) {
      const bool within_size = !f.max_disk_bytes || size <= *f.max_disk_bytes;
      CHECK(disk_fits(f, in) == (within_size && f.name != "vmdk"));
    }
    CHECK_THROWS_WITH(build_containers(in, {"vmdk"}), Catch::Contains("leave vmdk out of --formats"));
    CHECK(build_containers(in, {"qcow2"}).size() == 1);
  }
}

TEST_CASE("container headers read back through their structs", "[container]") {
  const ContainerInput in = small_input();
  const std::vector<ContainerFile> files = build_containers(in, parse_formats("all"));
  const uint64_t disk = in.disk->size();

  const Image& vmdk = *file_with(files, ".vmdk").image;
  const auto v = load<VmdkSparseHeader>(read_all(vmdk, 0, sizeof(VmdkSparseHeader)).data());
  CHECK(v.magic_number == kVmdkSparseMagic);
  CHECK(std::memcmp(read_all(vmdk, 0, 4).data(), "KDMV", 4) == 0);
  CHECK(v.capacity == disk / 512);
  CHECK(v.grain_size == 128);
  CHECK(v.overhead % v.grain_size == 0);
  CHECK(get_le32(read_all(vmdk, v.gd_offset * 512, 4).data()) != get_le32(read_all(vmdk, v.rgd_offset * 512, 4).data()));

  const Image& vhd = *file_with(files, ".vhd").image;
  const auto tail = read_all(vhd, vhd.size() - sizeof(VhdFooter), sizeof(VhdFooter));
  auto foot = load<VhdFooter>(tail.data());
  CHECK(read_all(vhd, 0, sizeof(VhdFooter)) == tail);
  CHECK(std::memcmp(foot.cookie, "conectix", 8) == 0);
  CHECK(foot.current_size == disk);
  CHECK(foot.disk_type == 3);
  const uint32_t checksum = foot.checksum;
  foot.checksum = 0;
  uint32_t sum = 0;
  for (uint8_t b : std::vector<uint8_t>(reinterpret_cast<uint8_t*>(&foot), reinterpret_cast<uint8_t*>(&foot + 1))) sum += b;
  CHECK(checksum == ~sum);
  const auto dyn = load<VhdDynamicHeader>(read_all(vhd, foot.data_offset, sizeof(VhdDynamicHeader)).data());
  CHECK(std::memcmp(dyn.cookie, "cxsparse", 8) == 0);
  CHECK(dyn.max_table_entries == disk / (2 << 20));
  const auto fixed = load<VhdFooter>(read_all(*file_with(files, "-fixed.vhd").image, disk, sizeof(VhdFooter)).data());
  CHECK(fixed.disk_type == 2);
  CHECK(fixed.data_offset == ~0ull);

  const auto vdi = load<VdiFileHeader>(read_all(*file_with(files, ".vdi").image, 0, sizeof(VdiFileHeader)).data());
  CHECK(vdi.pre.signature == kVdiSignature);
  CHECK(vdi.header.header_size == 0x190);
  CHECK(vdi.header.disk_size == disk);
  CHECK(vdi.header.blocks == disk >> 20);
  CHECK(vdi.header.legacy_geometry.sector_bytes == 512);

  const Image& qcow2 = *file_with(files, ".qcow2").image;
  const auto q = load<Qcow2Header>(read_all(qcow2, 0, sizeof(Qcow2Header)).data());
  CHECK(std::memcmp(read_all(qcow2, 0, 4).data(), "QFI\xfb", 4) == 0);
  CHECK(q.version == 3);
  CHECK(q.size == disk);
  CHECK(q.header_length == sizeof(Qcow2Header));
  const auto end = load<Qcow2HeaderExtension>(read_all(qcow2, q.header_length, sizeof(Qcow2HeaderExtension)).data());
  CHECK(end.type == kQcow2ExtensionEnd);
  CHECK(end.length == 0);
}
