// The filesystem table: rows by name, and the layout text each row gives
// the disk's identity (which must not change: it seeds every derived UUID).
#include <catch2/catch.hpp>
#include <string>

#include "core/fs/filesystem.h"
#include "core/image/error.h"

using namespace vdiskfs;

TEST_CASE("the ext4 row: its name, label limit and layout text") {
  const Filesystem& fs = filesystem_named("ext4");
  CHECK(fs.name == "ext4");
  CHECK(fs.max_label_bytes == 16);
  VolumeOptions options;
  CHECK(fs.layout(options) == "ext4;uuid=derived;label=;free=20%;min_free=268435456");
  Uuid uuid;
  REQUIRE(parse_uuid("12345678-1234-1234-1234-123456789abc", uuid));
  options.uuid = uuid;
  options.label = "root";
  options.free_space = SizeSpec{1 << 30, 0, false};
  options.min_free_bytes = 4 << 20;
  CHECK(fs.layout(options) == "ext4;uuid=12345678-1234-1234-1234-123456789abc;label=root;free=1073741824B;min_free=4194304");
}

TEST_CASE("the ext4 row refuses a label longer than 16 bytes") {
  VolumeOptions options;
  options.label = "12345678901234567";
  try {
    filesystem_named("ext4").layout(options);
    FAIL("a 17-byte label was taken");
  } catch (const Error& e) {
    CHECK(std::string(e.what()) == "label '12345678901234567' is longer than ext4's 16 bytes");
  }
}

TEST_CASE("a filesystem the table does not hold is an error") {
  CHECK_THROWS_AS(filesystem_named("reiserfs"), Error);
}
