// MBR disks read back byte by byte and checked against the layout of the
// UEFI spec's tables 5-1 and 5-2 and the PC convention for extended
// partitions (offsets from the spec, not from our structs); the EBR chain
// is walked the way Linux's msdos partition parser walks it.
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/image/error.h"
#include "core/image/mapped_image.h"
#include "core/partition/mbr.h"
#include "core/partition/partition_table.h"
#include "core/partition/placement.h"
#include "test_images.h"

using namespace vdiskfs;
using vdiskfs::test::all_zero;
using vdiskfs::test::BytesImage;
using vdiskfs::test::le;

namespace {

constexpr uint64_t MiB = 1 << 20;

// One partition record as the spec draws it (table 5-2).
struct Record {
  uint8_t boot = 0, type = 0;
  std::vector<uint8_t> chs_start, chs_end;
  uint64_t start = 0, sectors = 0;
};

Record record_at(const uint8_t* p) {
  return {p[0], p[4], {p + 1, p + 4}, {p + 5, p + 8}, le(p + 8, 4), le(p + 12, 4)};
}

// Record `i` (0-3) of the MBR or EBR sector at `sector`.
Record record_of(const uint8_t* sector, int i) {
  return record_at(sector + 0x1BE + 16 * i);
}

std::vector<uint8_t> read_all(const Image& img) {
  std::vector<uint8_t> out(img.size());
  REQUIRE(img.read(0, out.data(), out.size()) == Status::ok);
  return out;
}

std::shared_ptr<BytesImage> content_of(uint64_t bytes, uint32_t seed) {
  return std::make_shared<BytesImage>(vdiskfs::test::pattern_bytes(bytes, seed));
}

// `bytes` of zeros, never held in memory.
std::shared_ptr<const Image> zeros_of(uint64_t bytes) {
  return std::make_shared<MappedImage>(bytes, ExtentMap{}, std::vector<uint8_t>{}, nullptr,
                                       std::vector<std::shared_ptr<const Image>>{});
}

PartitionSpec spec_of(std::shared_ptr<const Image> content, PartitionRole role = PartitionRole::linux_filesystem) {
  return {std::move(content), role, Uuid{}, ""};
}

// The placement of `partitions` under MBR and the disk MBR makes of it.
std::pair<Placement, std::shared_ptr<const Image>> mbr_disk(std::vector<PartitionSpec> partitions,
                                                            const Uuid& disk_id = Uuid{}) {
  Placement placement = place_partitions(std::move(partitions), kMbrFootprint);
  auto disk = encode_mbr(placement, disk_id);
  return {std::move(placement), std::move(disk)};
}

// A partition as Linux finds it: absolute start and size in sectors, type.
struct Found {
  uint64_t start, sectors;
  uint8_t type;
};

bool is_extended(uint8_t type) { return type == 0x05 || type == 0x0F || type == 0x85; }

// The partitions of `disk` in Linux's numbering: the primaries (1-4, empty
// records kept as gaps), then the logical ones (5, 6, ...) found by
// following the EBR chain from the extended partition.
std::vector<Found> walk(const std::vector<uint8_t>& d) {
  REQUIRE(d[0x1FE] == 0x55);
  REQUIRE(d[0x1FF] == 0xAA);
  std::vector<Found> out;
  uint64_t extended = 0;
  for (int i = 0; i < 4; ++i) {
    const Record r = record_of(d.data(), i);
    out.push_back({r.start, r.sectors, r.type});
    if (is_extended(r.type)) extended = r.start;
  }
  for (uint64_t ebr = extended; ebr != 0;) {
    const uint8_t* s = d.data() + ebr * 512;
    REQUIRE(s[0x1FE] == 0x55);
    REQUIRE(s[0x1FF] == 0xAA);
    CHECK(all_zero(s, 0x1BE));
    CHECK(all_zero(s + 0x1DE, 32));  // records 3 and 4
    const Record logical = record_of(s, 0), next = record_of(s, 1);
    out.push_back({ebr + logical.start, logical.sectors, logical.type});
    CHECK(logical.boot == 0);
    ebr = is_extended(next.type) ? extended + next.start : 0;
    if (ebr == 0) CHECK(all_zero(s + 0x1CE, 16));
  }
  return out;
}

const std::vector<uint8_t> kChsBeyond = {0xFE, 0xFF, 0xFF};

}  // namespace

TEST_CASE("MBR disk with one partition: record, signature, active flag, CHS", "[mbr]") {
  const auto content = content_of(MiB, 3);
  const Uuid disk_id = {0x78, 0x56, 0x34, 0x12, 0x9a, 0xbc, 0x4d, 0xef,
                        0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  const auto [placement, disk] = mbr_disk({spec_of(content)}, disk_id);
  const std::vector<uint8_t> d = read_all(*disk);
  CHECK(d.size() == 2 * MiB);
  CHECK(all_zero(d.data(), 440));                  // no boot code: GRUB writes its own
  CHECK(le(d.data() + 0x1B8, 4) == 0x12345678);    // the disk signature: disk_id's first 4 bytes
  CHECK(le(d.data() + 0x1BC, 2) == 0);
  CHECK(d[0x1FE] == 0x55);
  CHECK(d[0x1FF] == 0xAA);
  const Record r = record_of(d.data(), 0);
  CHECK(r.boot == 0x80);  // partition 1 is active
  CHECK(r.type == 0x83);
  CHECK(r.start == 2048);  // 1 MiB: GRUB's core image fits in the gap before it
  CHECK(r.sectors == MiB / 512);
  // 255 heads, 63 sectors: LBA 2048 is C/H/S 0/32/33; LBA 4095 is 0/65/1.
  CHECK(r.chs_start == std::vector<uint8_t>{0x20, 0x21, 0x00});
  CHECK(r.chs_end == std::vector<uint8_t>{0x41, 0x01, 0x00});
  CHECK(all_zero(d.data() + 0x1CE, 48));  // records 2-4 empty
  // The gap after the MBR reads zeros, the partition its content.
  CHECK(all_zero(d.data() + 512, MiB - 512));
  CHECK(std::memcmp(d.data() + MiB, content->bytes().data(), MiB) == 0);
  CHECK(placement.partitions[0].chain_offset == 0);
}

TEST_CASE("MBR types: Linux 0x83, swap 0x82, FAT32 LBA 0x0C, EFI System 0xEF; four fit as primaries", "[mbr]") {
  const auto [placement, disk] =
      mbr_disk({spec_of(content_of(512, 1), PartitionRole::efi_system),
                spec_of(content_of(1024, 2), PartitionRole::linux_filesystem),
                spec_of(content_of(512, 3), PartitionRole::linux_swap),
                spec_of(content_of(512, 4), PartitionRole::microsoft_basic_data)});
  const std::vector<uint8_t> d = read_all(*disk);
  const std::vector<Found> found = walk(d);
  REQUIRE(found.size() == 4);
  const uint8_t types[] = {0xEF, 0x83, 0x82, 0x0C};
  for (int i = 0; i < 4; ++i) {
    CHECK(found[i].type == types[i]);
    CHECK(found[i].start == (uint64_t(i) + 1) * 2048);
    CHECK(found[i].start * 512 == placement.partitions[i].offset);
    CHECK(record_of(d.data(), i).boot == (i == 0 ? 0x80 : 0));
  }
  CHECK(found[1].sectors == 2);
  CHECK(d.size() == 5 * MiB);  // no extended partition, no EBR room
}

TEST_CASE("MBR beyond four partitions: three primaries, an extended partition and an EBR chain", "[mbr]") {
  const size_t count = GENERATE(5, 6);
  std::vector<PartitionSpec> specs;
  std::vector<std::shared_ptr<BytesImage>> contents;
  for (size_t i = 0; i < count; ++i) {
    contents.push_back(content_of(512 * (i + 1), uint32_t(i + 10)));
    specs.push_back(spec_of(contents.back(), i == 4 ? PartitionRole::linux_swap : PartitionRole::linux_filesystem));
  }
  const auto [placement, disk] = mbr_disk(std::move(specs));
  const std::vector<uint8_t> d = read_all(*disk);
  const std::vector<PlacedPartition>& placed = placement.partitions;

  // Placement: primaries at 1, 2, 3 MiB; each logical 1 MiB after its EBR.
  for (size_t i = 0; i < count; ++i) {
    const uint64_t ebr = i < 3 ? 0 : (4 + 2 * (i - 3)) * MiB;
    CHECK(placed[i].chain_offset == ebr);
    CHECK(placed[i].offset == (i < 3 ? (i + 1) * MiB : ebr + MiB));
  }
  CHECK(d.size() == placed.back().offset + MiB);

  const Record ext = record_of(d.data(), 3);
  CHECK(ext.type == 0x0F);
  CHECK(ext.boot == 0);
  CHECK(ext.start == 4 * MiB / 512);  // the first EBR
  CHECK((ext.start + ext.sectors) * 512 == placed.back().offset + placed.back().size);

  // Linux numbers them 1-3, 4 (the extended), 5, 6, ...
  const std::vector<Found> found = walk(d);
  REQUIRE(found.size() == count + 1);
  for (size_t i = 0; i < count; ++i) {
    const Found& f = found[i < 3 ? i : i + 1];
    CHECK(f.start * 512 == placed[i].offset);
    CHECK(f.sectors == i + 1);
    CHECK(f.type == (i == 4 ? 0x82 : 0x83));
    CHECK(std::memcmp(d.data() + placed[i].offset, contents[i]->bytes().data(), contents[i]->size()) == 0);
  }
  // Each EBR's link spans the next EBR to the end of its logical partition,
  // CHS addresses absolute.
  for (size_t i = 3; i + 1 < count; ++i) {
    const Record next = record_of(d.data() + placed[i].chain_offset, 1);
    CHECK(next.type == 0x05);
    CHECK((ext.start + next.start) * 512 == placed[i + 1].chain_offset);
    CHECK(next.sectors * 512 == placed[i + 1].offset + placed[i + 1].size - placed[i + 1].chain_offset);
  }
  // The first logical at LBA 10240 (5 MiB): C/H/S 0/162/35.
  CHECK(record_of(d.data() + placed[3].chain_offset, 0).chs_start == std::vector<uint8_t>{0xA2, 0x23, 0x00});
  // Between an EBR and its logical partition, zeros.
  CHECK(all_zero(d.data() + placed[3].chain_offset + 512, MiB - 512));
}

TEST_CASE("MBR CHS: cylinder bits 8-9 in the sector byte, FE FF FF beyond 1024 cylinders", "[mbr]") {
  // Partition 2 at 2400 MiB (LBA 4915200: C/H/S 305/244/4), partition 3
  // beyond 8 GiB (LBA 16777216, past CHS's 16450560 sectors).
  const auto [placement, disk] =
      mbr_disk({spec_of(zeros_of(2399 * MiB)), spec_of(zeros_of(5792 * MiB)), spec_of(zeros_of(MiB))});
  REQUIRE(placement.partitions[1].offset == 2400 * MiB);
  REQUIRE(placement.partitions[2].offset == 8192 * MiB);
  uint8_t mbr[512];
  REQUIRE(disk->read(0, mbr, sizeof mbr) == Status::ok);
  CHECK(record_of(mbr, 1).chs_start == std::vector<uint8_t>{0xF4, 0x44, 0x31});
  CHECK(record_of(mbr, 1).chs_end == kChsBeyond);
  CHECK(record_of(mbr, 2).chs_start == kChsBeyond);
  CHECK(record_of(mbr, 2).chs_end == kChsBeyond);
  CHECK(record_of(mbr, 2).start == 16777216);
}

TEST_CASE("MBR describes a disk of 2 TiB and refuses a larger one, naming its size and GPT", "[mbr]") {
  const auto [placement, disk] = mbr_disk({spec_of(zeros_of((uint64_t(2) << 40) - MiB))});
  CHECK(disk->size() == uint64_t(2) << 40);
  uint8_t mbr[512];
  REQUIRE(disk->read(0, mbr, sizeof mbr) == Status::ok);
  CHECK(record_of(mbr, 0).start + record_of(mbr, 0).sectors == uint64_t(1) << 32);

  const Placement beyond = place_partitions({spec_of(zeros_of(uint64_t(2) << 40))}, kMbrFootprint);
  try {
    encode_mbr(beyond, Uuid{});
    FAIL("a disk beyond 2 TiB was accepted");
  } catch (const Error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains(std::to_string(beyond.disk_bytes)));
    CHECK_THAT(what, Catch::Contains("2 TiB"));
    CHECK_THAT(what, Catch::Contains("GPT"));
  }
}

TEST_CASE("MBR refuses a BIOS boot partition: GRUB's core image goes in the gap before partition 1", "[mbr]") {
  const Placement p = place_partitions({spec_of(content_of(512, 1)), spec_of(zeros_of(MiB), PartitionRole::bios_boot)},
                                       kMbrFootprint);
  CHECK_THROWS_WITH(encode_mbr(p, Uuid{}), Catch::Contains("--bios-boot is for GPT disks"));
}

TEST_CASE("the partition table table holds gpt and mbr and names them for another name", "[mbr]") {
  CHECK(partition_table_named("mbr").footprint == &kMbrFootprint);
  CHECK(partition_table_names() == "gpt, mbr");
  CHECK_THROWS_WITH(partition_table_named("nope"), Catch::Contains("'nope'") && Catch::Contains("gpt, mbr"));
}
