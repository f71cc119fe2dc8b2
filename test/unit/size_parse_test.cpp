// parse_size: the sizes users type on the command line and in catalogs.
#include <catch2/catch.hpp>

#include "core/image/size_parse.h"

using vdiskfs::parse_size;

TEST_CASE("parse_size reads plain and binary-unit sizes") {
  auto bytes = [](const char* text) {
    auto s = parse_size(text);
    REQUIRE(s.has_value());
    CHECK_FALSE(s->is_percent);
    return s->bytes;
  };
  CHECK(bytes("4096") == 4096);
  CHECK(bytes("0") == 0);
  CHECK(bytes("512K") == 512ull << 10);
  CHECK(bytes("256M") == 256ull << 20);
  CHECK(bytes("1G") == 1ull << 30);
  CHECK(bytes("10g") == 10ull << 30);
  CHECK(bytes("1T") == 1ull << 40);
  CHECK(bytes("256MiB") == 256ull << 20);
  CHECK(bytes("2GB") == 2ull << 30);
}

TEST_CASE("parse_size reads percentages and resolves them against a reference") {
  auto s = parse_size("20%");
  REQUIRE(s.has_value());
  CHECK(s->is_percent);
  CHECK(s->percent == Approx(20.0));
  CHECK(s->resolve(1000) == 200);
  CHECK(s->resolve(0) == 0);
  auto half = parse_size("12.5%");
  REQUIRE(half.has_value());
  CHECK(half->resolve(800) == 100);
  // A byte size ignores the reference.
  CHECK(parse_size("1K")->resolve(5) == 1024);
}

TEST_CASE("parse_size rejects malformed sizes") {
  for (const char* bad : {"", "abc", "G", "%", "12X", "1.5G", "M5", "5 M", "-5%", "10%%", "0x10"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_size(bad).has_value());
  }
}

TEST_CASE("parse_size rejects negative and out-of-range sizes") {
  // strtoull accepts a leading '-' and wraps; ERANGE and unit overflow must
  // not turn into some other, silently wrong size.
  for (const char* bad : {"-1", "-1M", "99999999999999999999", "20000000T", "18446744073709551615K"}) {
    CAPTURE(bad);
    const auto s = parse_size(bad);
    INFO("parsed as " << (s ? s->bytes : 0) << " bytes");
    CHECK_FALSE(s.has_value());
  }
}

#include "core/disk/fstab.h"

TEST_CASE("the root entry of an fstab gives the filesystem identity") {
  using vdiskfs::parse_fstab_root;
  auto by_uuid = parse_fstab_root(
      "# comment\nUUID=11111111-2222-3333-4444-555555555555 /boot ext4 defaults 0 2\n"
      "UUID=5d1b7c3e-2f4a-4c5e-9a7b-0c1d2e3f4a5b / ext4 errors=remount-ro 0 1\n");
  REQUIRE(by_uuid);
  REQUIRE(by_uuid->uuid);
  CHECK(vdiskfs::uuid_to_string(*by_uuid->uuid) == "5d1b7c3e-2f4a-4c5e-9a7b-0c1d2e3f4a5b");
  auto by_label = parse_fstab_root("LABEL=rootfs\t/\text4\tdefaults\t0 1\n");
  REQUIRE(by_label);
  CHECK(by_label->label == "rootfs");
  CHECK_FALSE(parse_fstab_root("/dev/sda1 / ext4 defaults 0 1\n"));
  CHECK_FALSE(parse_fstab_root("PARTUUID=abcd / ext4 defaults 0 1\n"));
  CHECK_FALSE(parse_fstab_root(""));
}
