#include <catch2/catch.hpp>

#include <vector>

#include "formats/allocation_map.h"
#include "core/image/endian.h"
#include "formats/table_image.h"

using namespace vdiskfs;

TEST_CASE("allocation map allocates every unit a data range touches") {
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

TEST_CASE("allocation map of an empty disk allocates nothing") {
  AllocationMap m({}, 65536, 1 << 30);
  CHECK(m.allocated() == 0);
  CHECK(m.ordinal(0) == AllocationMap::kNone);
}

TEST_CASE("table image serves whole and partial entries alike") {
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
