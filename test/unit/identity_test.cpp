// Disk identity: stable for equal sources, different when the manifest
// changes; UUIDs derived from it are RFC 4122 version 4.
#include <catch2/catch.hpp>
#include <set>

#include "core/source/tree_identity.h"
#include "core/source/tree.h"

using namespace vdiskfs;

namespace {

// root/ with "a" (regular, 10 bytes) and "l" -> "a" (symlink).
Tree small_tree(int64_t a_mtime_ns) {
  Tree t;
  Node root;
  root.mode = S_IFDIR | 0755;
  root.nlink = 2;
  root.mtime = Timestamp::from_ns(1000);
  root.aux = uint64_t(0) | uint64_t(2) << 32;
  t.nodes.push_back(root);
  Node a;
  a.mode = S_IFREG | 0644;
  a.nlink = 1;
  a.size = 10;
  a.mtime = Timestamp::from_ns(a_mtime_ns);
  a.first_link = 0;
  t.nodes.push_back(a);
  Node l;
  l.mode = S_IFLNK | 0777;
  l.nlink = 1;
  l.aux = t.add_string("a");
  l.size = 1;
  l.first_link = 1;
  t.nodes.push_back(l);
  t.dirents.push_back({0, 1, t.add_string("a"), 1});
  t.dirents.push_back({0, 2, t.add_string("l"), 1});
  return t;
}

}  // namespace

TEST_CASE("compute_identity is stable for equal trees and sees a changed mtime") {
  const Identity x = compute_identity(small_tree(5'000'000'001), "opts");
  const Identity y = compute_identity(small_tree(5'000'000'001), "opts");
  CHECK(x.high == y.high);
  CHECK(x.low == y.low);
  CHECK(x.hex() == y.hex());
  CHECK(x.hex().size() == 32);

  const Identity ns = compute_identity(small_tree(5'000'000'002), "opts");  // 1 ns later
  CHECK(ns.hex() != x.hex());
  CHECK(compute_identity(small_tree(5'000'000'001), "other-opts").hex() != x.hex());

  Tree renamed = small_tree(5'000'000'001);
  renamed.strings[renamed.dirents[0].name_off] = 'b';
  CHECK(compute_identity(renamed, "opts").hex() != x.hex());

  Tree retarget = small_tree(5'000'000'001);
  retarget.strings[retarget.nodes[2].aux] = 'z';
  CHECK(compute_identity(retarget, "opts").hex() != x.hex());

  Tree chmodded = small_tree(5'000'000'001);
  chmodded.nodes[1].mode = S_IFREG | 0600;
  CHECK(compute_identity(chmodded, "opts").hex() != x.hex());

  Tree chowned = small_tree(5'000'000'001);
  chowned.nodes[1].uid = 1000;
  CHECK(compute_identity(chowned, "opts").hex() != x.hex());
}

TEST_CASE("Identity::derive gives stable RFC 4122 version-4 UUIDs per purpose") {
  const Identity id{0x0123456789abcdefull, 0xfedcba9876543210ull};
  std::set<Uuid> seen;
  for (const char* purpose : {"ext4-uuid", "gpt-disk", "gpt-partition", "ext4-hash-seed", ""}) {
    CAPTURE(purpose);
    const Uuid u = id.derive(purpose);
    CHECK((u[6] & 0xf0) == 0x40);  // version 4
    CHECK((u[8] & 0xc0) == 0x80);  // variant 10xx
    CHECK(u == id.derive(purpose));
    seen.insert(u);
  }
  CHECK(seen.size() == 5);
  const Identity other{0x0123456789abcdefull, 0xfedcba9876543211ull};
  CHECK(other.derive("ext4-uuid") != id.derive("ext4-uuid"));
}

TEST_CASE("uuid_to_string and parse_uuid round-trip") {
  const Uuid u = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                  0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe};
  const std::string text = uuid_to_string(u);
  CHECK(text == "01234567-89ab-cdef-1032-547698badcfe");
  Uuid back{};
  REQUIRE(parse_uuid(text, back));
  CHECK(back == u);
  REQUIRE(parse_uuid("01234567-89AB-CDEF-1032-547698BADCFE", back));
  CHECK(back == u);
  const Uuid derived = Identity{1, 2}.derive("x");
  REQUIRE(parse_uuid(uuid_to_string(derived), back));
  CHECK(back == derived);

  for (const char* bad : {"", "01234567-89ab-cdef-1032-547698badcf", "01234567-89ab-cdef-1032-547698badcfe0",
                          "g1234567-89ab-cdef-1032-547698badcfe", "01234567 89ab cdef 1032 547698badcfe"}) {
    CAPTURE(bad);
    Uuid out{};
    CHECK_FALSE(parse_uuid(bad, out));
  }
}
