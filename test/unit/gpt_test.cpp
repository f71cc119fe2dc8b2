// GPT disks read back byte by byte and checked against the UEFI layout
// (offsets from the spec's tables, not from our structs), with CRCs
// recomputed independently through zlib.
#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "core/image/error.h"
#include "core/image/mapped_image.h"
#include "core/partition/gpt.h"
#include "core/partition/placement.h"
#include "test_images.h"

using namespace vdiskfs;
using vdiskfs::test::all_zero;
using vdiskfs::test::le;
using vdiskfs::test::BytesImage;

namespace {

uint32_t zcrc(const uint8_t* p, size_t n) {
  return uint32_t(crc32(crc32(0L, Z_NULL, 0), p, uInt(n)));
}

std::vector<uint8_t> read_all(const Image& img) {
  std::vector<uint8_t> out(img.size());
  REQUIRE(img.read(0, out.data(), out.size()) == Status::ok);
  return out;
}

// The placement of `partitions` under GPT and the disk GPT makes of it.
std::pair<Placement, std::shared_ptr<const Image>> gpt_disk(std::vector<PartitionSpec> partitions,
                                                            const Uuid& disk_guid) {
  Placement placement = place_partitions(std::move(partitions), kGptFootprint);
  auto disk = encode_gpt(placement, disk_guid);
  return {std::move(placement), std::move(disk)};
}

// Checks one GPT header at `lba` and returns the entry array it points to.
void check_header(const std::vector<uint8_t>& disk, uint64_t lba, uint64_t alternate,
                  uint64_t entries_lba) {
  const uint64_t last_lba = disk.size() / 512 - 1;
  const uint8_t* h = disk.data() + lba * 512;
  CHECK(std::memcmp(h, "EFI PART", 8) == 0);
  CHECK(le(h + 0x08, 4) == 0x00010000);  // revision 1.0
  const uint32_t header_size = uint32_t(le(h + 0x0C, 4));
  REQUIRE(header_size == 92);
  std::vector<uint8_t> copy(h, h + header_size);
  std::memset(copy.data() + 0x10, 0, 4);
  CHECK(le(h + 0x10, 4) == zcrc(copy.data(), copy.size()));
  CHECK(le(h + 0x14, 4) == 0);  // reserved
  CHECK(le(h + 0x18, 8) == lba);
  CHECK(le(h + 0x20, 8) == alternate);
  CHECK(le(h + 0x28, 8) == 34);             // first usable: after MBR, header, 32 sectors
  CHECK(le(h + 0x30, 8) == last_lba - 33);  // last usable: before 32 sectors + header
  CHECK(le(h + 0x48, 8) == entries_lba);
  const uint32_t count = uint32_t(le(h + 0x50, 4));
  const uint32_t esize = uint32_t(le(h + 0x54, 4));
  CHECK(count == 128);
  CHECK(esize == 128);
  CHECK(le(h + 0x58, 4) == zcrc(disk.data() + entries_lba * 512, size_t(count) * esize));
  CHECK(all_zero(h + header_size, 512 - header_size));  // rest of the sector
}

}  // namespace

TEST_CASE("GPT disk with one partition matches the UEFI layout") {
  const auto content = std::make_shared<BytesImage>(vdiskfs::test::pattern_bytes(3 * 512 + 4096, 7));
  const Uuid unique = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0x4d, 0xef,
                       0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  const Uuid disk_guid = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x40, 0x11,
                          0x82, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99};
  const auto [placement, disk] = gpt_disk({{content, PartitionRole::linux_filesystem, unique, "root"}}, disk_guid);
  const std::vector<PlacedPartition>& placed = placement.partitions;
  REQUIRE(disk);
  const std::vector<uint8_t> d = read_all(*disk);
  REQUIRE(d.size() == disk->size());
  CHECK(d.size() % (1 << 20) == 0);
  const uint64_t sectors = d.size() / 512;
  const uint64_t last_lba = sectors - 1;
  // Room for partition (at 1 MiB) + backup structures.
  CHECK(d.size() >= (1 << 20) + content->size() + 33 * 512);

  SECTION("protective MBR") {
    const uint8_t* e = d.data() + 446;
    CHECK(d[510] == 0x55);
    CHECK(d[511] == 0xAA);
    CHECK(e[4] == 0xEE);
    CHECK(le(e + 8, 4) == 1);
    CHECK(le(e + 12, 4) == sectors - 1);
    // Only the first MBR entry is used.
    CHECK(all_zero(d.data() + 446 + 16, 510 - 446 - 16));
  }

  SECTION("primary and backup headers") {
    check_header(d, 1, last_lba, 2);
    check_header(d, last_lba, 1, last_lba - 32);
    // Both entry arrays are identical.
    CHECK(std::memcmp(d.data() + 2 * 512, d.data() + (last_lba - 32) * 512, 128 * 128) == 0);
    // Disk GUID stored mixed-endian, same in both headers.
    const uint8_t expected_guid[16] = {0xdd, 0xcc, 0xbb, 0xaa, 0xff, 0xee, 0x11, 0x40,
                                       0x82, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99};
    CHECK(std::memcmp(d.data() + 512 + 0x38, expected_guid, 16) == 0);
    CHECK(std::memcmp(d.data() + last_lba * 512 + 0x38, expected_guid, 16) == 0);
  }

  SECTION("partition entry 0 and the content") {
    const uint8_t* e = d.data() + 2 * 512;
    const uint8_t linux_fs[16] = {0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47,
                                  0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4};
    CHECK(std::memcmp(e, linux_fs, 16) == 0);
    const uint8_t unique_mixed[16] = {0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xef, 0x4d,
                                      0x81, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    CHECK(std::memcmp(e + 16, unique_mixed, 16) == 0);
    CHECK(le(e + 32, 8) == 2048);
    CHECK(le(e + 40, 8) == 2048 + content->size() / 512 - 1);
    CHECK(le(e + 40, 8) <= last_lba - 33);
    CHECK(le(e + 48, 8) == 0);  // attributes
    const char16_t name[] = u"root";
    for (int i = 0; i < 4; ++i) CHECK(le(e + 56 + 2 * i, 2) == uint64_t(name[i]));
    CHECK(le(e + 56 + 8, 2) == 0);
    // Entries 1..127 are empty.
    CHECK(all_zero(d.data() + 2 * 512 + 128, 127 * 128));
    REQUIRE(placed.size() == 1);
    CHECK(placed[0].offset == 2048 * 512);
    CHECK(placed[0].size == content->size());
    CHECK(std::memcmp(d.data() + placed[0].offset, content->bytes().data(), content->size()) == 0);
    // Between the tables and the partition, and after it, the disk reads zeros.
    CHECK(all_zero(d.data() + 34 * 512, placed[0].offset - 34 * 512));
    const uint64_t part_end = placed[0].offset + content->size();
    CHECK(all_zero(d.data() + part_end, (last_lba - 32) * 512 - part_end));
  }

  SECTION("unaligned reads across the table/partition boundaries agree with a whole read") {
    std::vector<uint8_t> chunked(d.size());
    const size_t step = 4093;  // prime: chunks straddle every boundary
    for (size_t pos = 0; pos < chunked.size(); pos += step) {
      const size_t n = std::min(step, chunked.size() - pos);
      REQUIRE(disk->read(pos, chunked.data() + pos, n) == Status::ok);
    }
    CHECK(chunked == d);
  }
}

TEST_CASE("GPT places several partitions on 1 MiB boundaries") {
  auto a = std::make_shared<BytesImage>(vdiskfs::test::pattern_bytes((1 << 20) + 512, 1));
  auto b = std::make_shared<BytesImage>(vdiskfs::test::pattern_bytes(1024, 2));
  const auto [placement, disk] =
      gpt_disk({{a, PartitionRole::bios_boot, Uuid{}, "a"}, {b, PartitionRole::linux_filesystem, Uuid{}, "b"}}, Uuid{});
  const std::vector<PlacedPartition>& placed = placement.partitions;
  REQUIRE(placed.size() == 2);
  CHECK(placed[0].offset == 1 << 20);
  CHECK(placed[1].offset == 3 << 20);  // a spills past 2 MiB
  const std::vector<uint8_t> d = read_all(*disk);
  CHECK(d.size() % (1 << 20) == 0);
  const uint8_t* e1 = d.data() + 2 * 512 + 128;
  CHECK(le(e1 + 32, 8) == (3 << 20) / 512);
  CHECK(le(e1 + 40, 8) == (3 << 20) / 512 + 1);
  CHECK(std::memcmp(d.data() + placed[0].offset, a->bytes().data(), a->size()) == 0);
  CHECK(std::memcmp(d.data() + placed[1].offset, b->bytes().data(), b->size()) == 0);
  // BIOS boot type GUID 21686148-6449-6E6F-744E-656564454649, mixed-endian.
  const uint8_t bios[16] = {0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6F, 0x6E,
                            0x74, 0x4E, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49};
  CHECK(std::memcmp(d.data() + 2 * 512, bios, 16) == 0);
}

TEST_CASE("GPT rejects a partition that is not a multiple of 512 bytes") {
  auto odd = std::make_shared<BytesImage>(std::vector<uint8_t>(1000, 1));
  CHECK_THROWS_AS(gpt_disk({{odd, PartitionRole::linux_filesystem, Uuid{}, "x"}}, Uuid{}), vdiskfs::Error);
}

TEST_CASE("the protective MBR's size saturates at 0xFFFFFFFF sectors on a disk beyond 2 TiB") {
  // 3 TiB of zeros, never read but for the first sector.
  auto big = std::make_shared<MappedImage>(uint64_t(3) << 40, ExtentMap{}, std::vector<uint8_t>{}, nullptr,
                                           std::vector<std::shared_ptr<const Image>>{});
  const auto [placement, disk] = gpt_disk({{big, PartitionRole::linux_filesystem, Uuid{}, "big"}}, Uuid{});
  CHECK(placement.disk_bytes > (uint64_t(2) << 40));
  uint8_t mbr[512];
  REQUIRE(disk->read(0, mbr, sizeof mbr) == Status::ok);
  CHECK(le(mbr + 446 + 8, 4) == 1);
  CHECK(le(mbr + 446 + 12, 4) == 0xFFFFFFFF);
}

TEST_CASE("gpt_guid_bytes swaps the first three fields") {
  const Uuid u = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const Uuid g = gpt_guid_bytes(u);
  const Uuid expected = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  CHECK(g == expected);
  CHECK(gpt_guid_bytes(g) == u);
}

TEST_CASE("GPT gives a swap partition the Linux swap type GUID") {
  auto swap = std::make_shared<BytesImage>(std::vector<uint8_t>(512, 0));
  const auto [placement, disk] = gpt_disk({{swap, PartitionRole::linux_swap, Uuid{}, "swap"}}, Uuid{});
  uint8_t entry[128];
  REQUIRE(disk->read(2 * 512, entry, sizeof entry) == Status::ok);
  // 0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, mixed-endian.
  const uint8_t linux_swap[16] = {0x6D, 0xFD, 0x57, 0x06, 0xAB, 0xA4, 0xC4, 0x43,
                                  0x84, 0xE5, 0x09, 0x33, 0xC8, 0x4B, 0x4F, 0x4F};
  CHECK(std::memcmp(entry, linux_swap, 16) == 0);
}
