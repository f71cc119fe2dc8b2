#include <catch2/catch.hpp>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/image/bytes_image.h"
#include "fuse/disk_table.h"

using namespace vdiskfs;

namespace {

// A folder `name` holding one file NAME.txt with `text`.
std::shared_ptr<DiskFolder> folder(const std::string& name, const std::string& text) {
  auto f = std::make_shared<DiskFolder>();
  f->name = name;
  f->files.add(expose(name + ".txt", std::make_shared<BytesImage>(text), nullptr, 0, text.size()));
  return f;
}

std::string content(const ExposedFile& f) {
  std::string out(f.image->size(), '\0');
  if (!ok(f.image->read(0, reinterpret_cast<uint8_t*>(out.data()), out.size()))) return "(read failed)";
  return out;
}

}  // namespace

TEST_CASE("disk table: put, find, replace, drop; a held folder outlives its drop") {
  DiskTable table;
  table.put(folder("b", "bee\n"));
  table.put(folder("a", "ay\n"));
  REQUIRE(table.folders().size() == 2);
  CHECK(table.folders()[0]->name == "a");  // sorted by name
  CHECK(table.folders()[1]->name == "b");
  REQUIRE(table.find("a"));
  CHECK(table.find("a")->files.find("a.txt") == 0);
  CHECK_FALSE(table.find("c"));

  table.put(folder("a", "again\n"));  // the same name replaces
  CHECK(table.folders().size() == 2);
  CHECK(content(table.find("a")->files.at(0)) == "again\n");

  std::shared_ptr<DiskFolder> held = table.find("b");  // as an open file holds it
  CHECK(table.drop("b"));
  CHECK_FALSE(table.drop("b"));
  CHECK_FALSE(table.find("b"));
  CHECK(content(held->files.at(0)) == "bee\n");
}

TEST_CASE("disk table: lookups while folders come and go on other threads") {
  DiskTable table;
  std::thread writer([&] {
    for (int i = 0; i < 2000; ++i) {
      table.put(folder("d" + std::to_string(i % 7), "x"));
      table.drop("d" + std::to_string((i + 3) % 7));
    }
  });
  // CHECK, not REQUIRE: a REQUIRE failing while `writer` runs would end
  // the test with the thread joinable (std::terminate).
  for (int i = 0; i < 2000; ++i) {
    for (const auto& f : table.folders()) CHECK(f->files.size() == 1);
    if (auto f = table.find("d1")) CHECK(content(f->files.at(0)) == "x");
  }
  writer.join();
  // The same puts and drops on one thread give the same names.
  std::set<std::string> expected;
  for (int i = 0; i < 2000; ++i) {
    expected.insert("d" + std::to_string(i % 7));
    expected.erase("d" + std::to_string((i + 3) % 7));
  }
  std::set<std::string> names;
  for (const auto& f : table.folders()) names.insert(f->name);
  CHECK(names == expected);
}

TEST_CASE("disk table: the change hook sees each folder put, replaced and dropped, after the lock") {
  DiskTable table;
  std::vector<std::string> seen;  // "name:content" of each folder the hook got
  table.set_change_hook([&](const DiskFolder& f) {
    CHECK(table.find("zzz") == nullptr);  // the table's lock is free: a lookup does not deadlock
    seen.push_back(f.name + ":" + content(f.files.at(0)));
  });
  table.put(folder("a", "one"));
  table.put(folder("a", "two"));  // the old one leaves, the new one comes
  CHECK(table.drop("a"));
  CHECK_FALSE(table.drop("a"));
  table.set_change_hook(nullptr);
  table.put(folder("b", "three"));
  CHECK(seen == std::vector<std::string>{"a:one", "a:one", "a:two", "a:two"});
}
