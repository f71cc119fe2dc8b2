// Partition placement, apart from any table's encoding: 1 MiB alignment,
// order, the room a table keeps at each end, and what it refuses.
#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "core/image/error.h"
#include "core/partition/placement.h"
#include "test_images.h"

using namespace vdiskfs;
using vdiskfs::test::BytesImage;

namespace {

constexpr uint64_t MiB = 1 << 20;

PartitionSpec partition_of(uint64_t bytes) {
  return {std::make_shared<BytesImage>(std::vector<uint8_t>(bytes, 0)), PartitionRole::linux_filesystem, Uuid{}, ""};
}

}  // namespace

TEST_CASE("partitions go in order, each on the next 1 MiB boundary after the table's head") {
  const TableFootprint table{"T", 34 * 512, 33 * 512, 128};
  const Placement p = place_partitions({partition_of(MiB + 512), partition_of(1024), partition_of(MiB)}, table);
  REQUIRE(p.partitions.size() == 3);
  CHECK(p.partitions[0].offset == 1 * MiB);
  CHECK(p.partitions[0].size == MiB + 512);
  CHECK(p.partitions[1].offset == 3 * MiB);  // the first spills past 2 MiB
  CHECK(p.partitions[1].size == 1024);
  CHECK(p.partitions[2].offset == 4 * MiB);
  // The last partition ends on a boundary: the tail needs one more MiB.
  CHECK(p.disk_bytes == 6 * MiB);
}

TEST_CASE("a table's head beyond 1 MiB pushes the first partition to the next boundary") {
  const TableFootprint table{"T", MiB + 512, 0, 4};
  const Placement p = place_partitions({partition_of(512)}, table);
  CHECK(p.partitions[0].offset == 2 * MiB);
  CHECK(p.disk_bytes == 3 * MiB);
}

TEST_CASE("the disk keeps the table's tail after the last partition, rounded to 1 MiB") {
  const TableFootprint table{"T", 512, 33 * 512, 4};
  CHECK(place_partitions({partition_of(MiB - 33 * 512)}, table).disk_bytes == 3 * MiB);
  CHECK(place_partitions({}, table).disk_bytes == 2 * MiB);
}

TEST_CASE("placement refuses more partitions than the table holds, and sizes that are not whole sectors") {
  const TableFootprint table{"GPT", 34 * 512, 33 * 512, 2};
  try {
    place_partitions({partition_of(512), partition_of(512), partition_of(512)}, table);
    FAIL("three partitions placed in a table of two");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "GPT holds at most 2 partitions");
  }
  CHECK_THROWS_AS(place_partitions({partition_of(1000)}, table), Error);
  CHECK_THROWS_AS(place_partitions({partition_of(0)}, table), Error);
}
