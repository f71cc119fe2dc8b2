#include <catch2/catch.hpp>

#include "core/image/extent_map.h"

using namespace vdiskfs;

TEST_CASE("extent map finds the extent covering an offset") {
  ExtentMap m;
  m.add({100, 50, 0, 0, ExtentKind::skeleton});
  m.add({0, 10, 0, 0, ExtentKind::skeleton});
  m.add({10, 20, 0, 0, ExtentKind::skeleton});
  REQUIRE(m.finish());
  CHECK(m.first_ending_after(0) == 0);
  CHECK(m.first_ending_after(9) == 0);
  CHECK(m.first_ending_after(10) == 1);
  CHECK(m.first_ending_after(29) == 1);
  CHECK(m.first_ending_after(30) == 2);   // in the gap: next extent
  CHECK(m.first_ending_after(149) == 2);
  CHECK(m.first_ending_after(150) == 3);  // past the end
}

TEST_CASE("extent map rejects overlaps") {
  ExtentMap m;
  m.add({0, 10, 0, 0, ExtentKind::skeleton});
  m.add({5, 10, 0, 0, ExtentKind::skeleton});
  CHECK_FALSE(m.finish());
}
