#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "core/catalog/catalog_error.h"
#include "core/catalog/catalog_store.h"
#include "core/catalog/disk_name.h"
#include "test_images.h"

using namespace vdiskfs;
using vdiskfs::test::TempDir;

namespace {

// The bytes of a file (compared as `unchanged(...)`: Catch would print
// binary bytes).
std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool unchanged(const std::string& path, const std::string& before) { return bytes_of(path) == before; }

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out);
}

// Runs SQL on a file with SQLite itself, as another program would.
void run_sql(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &error);
  const std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  INFO(message);
  REQUIRE(rc == SQLITE_OK);
}

// What `f` was refused with: its CatalogError's fault and message (the
// test fails when it throws none).
struct Refusal {
  CatalogFault fault;
  std::string message;
  bool says(const std::string& text) const { return message.find(text) != std::string::npos; }
};
template <typename F>
Refusal refusal(F&& f) {
  try {
    f();
  } catch (const CatalogError& e) {
    return {e.fault(), e.what()};
  }
  FAIL("no CatalogError");
  return {};
}

CatalogDisk disk(const std::string& name, std::optional<std::string> parent = std::nullopt) {
  CatalogDisk d;
  d.name = name;
  d.source = "/srv/backups/" + name;
  d.layout = R"({"layout":"single"})";
  d.delta_dir = "/var/lib/vdiskfs/" + name;
  d.parent = std::move(parent);
  d.created = 1700000000;
  return d;
}

// The fault of opening `path` with `access`, checking that the file's
// bytes did not change; nullopt when it opened.
std::optional<CatalogFault> open_fault(const std::string& path, CatalogStore::Access access) {
  const std::string before = bytes_of(path);
  std::optional<CatalogFault> fault;
  try {
    CatalogStore store(path, access);
  } catch (const CatalogError& e) {
    fault = e.fault();
    CHECK(std::string(e.what()).find(path) != std::string::npos);  // the message names the file
  }
  CHECK(unchanged(path, before));
  return fault;
}

// A catalog of this program's version holding web01, at `path`.
void make_catalog(const std::string& path) { CatalogStore(path, CatalogStore::Access::read_write).add(disk("web01")); }

}  // namespace

TEST_CASE("catalog: a new file is created at the last version, marked as a catalog") {
  TempDir tmp;
  const std::string path = tmp / "catalog.db";
  CatalogStore store(path, CatalogStore::Access::read_write);
  CHECK(store.schema_version() == catalog_migrations().back().version);
  CHECK(store.list().empty());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(uint32_t(sqlite3_column_int64(s, 0)) == kCatalogApplicationId);
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST_CASE("catalog: an empty file is version 0; reading leaves it empty, writing migrates it") {
  TempDir tmp;
  const std::string path = tmp / "catalog.db";
  write_file(path, "");
  {
    CatalogStore store(path, CatalogStore::Access::read_only);
    CHECK(store.schema_version() == 0);
    CHECK(store.list().empty());
    CHECK_FALSE(store.find("web01"));
  }
  CHECK(bytes_of(path).empty());
  CatalogStore store(path, CatalogStore::Access::read_write);
  CHECK(store.schema_version() == catalog_migrations().back().version);
  store.add(disk("web01"));
  CHECK(store.get("web01").source == "/srv/backups/web01");
}

TEST_CASE("catalog: a missing file is not created by a read") {
  TempDir tmp;
  const std::string path = tmp / "catalog.db";
  CHECK(refusal([&] { CatalogStore(path, CatalogStore::Access::read_only); }).fault == CatalogFault::missing);
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("catalog: later migrations apply in order, keep the disks, and roll back as one") {
  TempDir tmp;
  const std::string path = tmp / "catalog.db";
  make_catalog(path);
  std::vector<CatalogMigration> migrations = catalog_migrations();
  const int latest = migrations.back().version;

  SECTION("a migration that fails leaves the file as it was") {
    migrations.push_back({latest + 1, "CREATE TABLE future_layers (id INTEGER PRIMARY KEY);"});
    migrations.push_back({latest + 2, "CREATE TABLE broken (;"});
    const std::string before = bytes_of(path);
    CHECK(refusal([&] { CatalogStore(path, CatalogStore::Access::read_write, migrations); }).fault == CatalogFault::sqlite);
    CHECK(unchanged(path, before));
    CHECK(CatalogStore(path, CatalogStore::Access::read_only).schema_version() == latest);
  }
  SECTION("two more versions at once") {
    migrations.push_back({latest + 1, "CREATE TABLE future_layers (id INTEGER PRIMARY KEY, disk TEXT REFERENCES disks(name));"});
    migrations.push_back({latest + 2, "ALTER TABLE disks ADD COLUMN frozen_layer INTEGER REFERENCES future_layers(id);"});
    CatalogStore store(path, CatalogStore::Access::read_write, migrations);
    CHECK(store.schema_version() == latest + 2);
    CHECK(store.get("web01").delta_dir == "/var/lib/vdiskfs/web01");
    // This program (version `latest`) now refuses the file, and does not touch it.
    CHECK(open_fault(path, CatalogStore::Access::read_write) == CatalogFault::newer_schema);
  }
}

TEST_CASE("catalog: add, list, find, get, remove") {
  TempDir tmp;
  const std::string path = tmp / "catalog.db";
  {
    CatalogStore store(path, CatalogStore::Access::read_write);
    store.add(disk("web02"));
    CatalogDisk d = disk("web01");
    d.identity = "0123abcd";
    store.add(d);
  }
  const CatalogStore reader(path, CatalogStore::Access::read_only);
  const std::vector<CatalogDisk> all = reader.list();
  REQUIRE(all.size() == 2);
  CHECK(all[0].name == "web01");  // by name
  CHECK(all[1].name == "web02");
  const CatalogDisk d = reader.get("web01");
  CHECK(d.source == "/srv/backups/web01");
  CHECK(d.layout == R"({"layout":"single"})");
  CHECK(d.delta_dir == "/var/lib/vdiskfs/web01");
  CHECK_FALSE(d.parent);
  CHECK(d.created == 1700000000);
  CHECK(d.identity == "0123abcd");
  CHECK_FALSE(all[1].identity);
  CHECK_FALSE(reader.find("web03"));
  const Refusal refused = refusal([&] { reader.get("web03"); });
  CHECK(refused.fault == CatalogFault::no_such_disk);
  CHECK(refused.says("web03"));

  CatalogStore store(path, CatalogStore::Access::read_write);
  store.remove("web01");
  CHECK_FALSE(store.find("web01"));
  CHECK(store.list().size() == 1);
  CHECK(refusal([&] { store.remove("web01"); }).fault == CatalogFault::no_such_disk);
}

TEST_CASE("catalog: a duplicate name is refused and changes nothing") {
  TempDir tmp;
  const std::string path = tmp / "catalog.db";
  make_catalog(path);
  const std::string before = bytes_of(path);
  CatalogDisk other = disk("web01");
  other.source = "/elsewhere";
  const Refusal refused = refusal([&] { CatalogStore(path, CatalogStore::Access::read_write).add(other); });
  CHECK(refused.fault == CatalogFault::duplicate_name);
  CHECK(refused.says("already has a disk named web01"));
  CHECK(unchanged(path, before));
  CHECK(CatalogStore(path, CatalogStore::Access::read_only).get("web01").source == "/srv/backups/web01");
}

TEST_CASE("catalog: clones name their parent, which cannot go before them") {
  TempDir tmp;
  const std::string path = tmp / "catalog.db";
  CatalogStore store(path, CatalogStore::Access::read_write);
  store.add(disk("web01"));
  store.add(disk("web01-b", "web01"));
  store.add(disk("web01-a", "web01"));
  CHECK(store.clones("web01") == std::vector<std::string>{"web01-a", "web01-b"});
  CHECK(store.clones("web01-a").empty());
  CHECK(store.get("web01-a").parent == "web01");
  CHECK(refusal([&] { store.add(disk("orphan", "nobody")); }).fault == CatalogFault::no_such_disk);
  const Refusal refused = refusal([&] { store.remove("web01"); });
  CHECK(refused.fault == CatalogFault::has_clones);
  CHECK(refused.says("web01-a, web01-b"));
  store.remove("web01-a");
  store.remove("web01-b");
  store.remove("web01");
  CHECK(store.list().empty());
}

TEST_CASE("catalog: disk names are safe folder names") {
  using namespace std::string_literals;
  for (const std::string& good : {"web01"s, "a"s, "web 01"s, "db.example.com"s, "été"s, std::string(255, 'x'), "..x"s})
    CHECK(disk_name_problem(good).empty());
  for (const std::string& bad : {""s, "."s, ".."s, "a/b"s, "/"s, "-rf"s, "tab\there"s, "nl\n"s, "del\x7f"s,
                                 std::string(256, 'x'), "nul\0x"s}) {
    INFO(bad);
    CHECK_FALSE(disk_name_problem(bad).empty());
  }
  TempDir tmp;
  const std::string path = tmp / "catalog.db";
  make_catalog(path);
  const std::string before = bytes_of(path);
  const Refusal refused = refusal([&] { CatalogStore(path, CatalogStore::Access::read_write).add(disk("../etc")); });
  CHECK(refused.fault == CatalogFault::bad_name);
  CHECK(refused.says("'../etc' cannot name a disk"));
  CHECK(unchanged(path, before));
}

TEST_CASE("catalog: files it must not touch are refused, read or written, and stay byte for byte") {
  // How each file is made, and the refusal it must meet.
  struct Case {
    const char* what;
    std::function<void(const std::string&)> make;
    CatalogFault expected;
  };
  const auto cut_to = [](const std::string& path, size_t size) {
    make_catalog(path);
    run_sql(path, "CREATE TABLE filler (x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                  "WHERE i < 2000) INSERT INTO filler SELECT randomblob(100) FROM n;");
    const std::string bytes = bytes_of(path);
    write_file(path, bytes.substr(0, size ? size : bytes.size() / 2));
  };
  const std::vector<Case> cases = {
      {"a newer schema version",
       [](const std::string& path) {
         make_catalog(path);
         run_sql(path, "UPDATE schema_version SET version = 99");
       },
       CatalogFault::newer_schema},
      {"another program's database: tables, no application_id",
       [](const std::string& path) { run_sql(path, "CREATE TABLE photos (id INTEGER); INSERT INTO photos VALUES (1);"); },
       CatalogFault::foreign_database},
      {"another program's database: its own application_id, no tables",
       [](const std::string& path) { run_sql(path, "PRAGMA application_id = 1234; CREATE TABLE t (x); DROP TABLE t;"); },
       CatalogFault::foreign_database},
      {"our application_id but no schema_version",
       [](const std::string& path) {
         make_catalog(path);
         run_sql(path, "DROP TABLE schema_version");
       },
       CatalogFault::damaged},
      {"not a database", [](const std::string& path) { write_file(path, std::string(8192, 'x')); },
       CatalogFault::not_a_database},
      {"a text file shorter than a header", [](const std::string& path) { write_file(path, "hello\n"); },
       CatalogFault::not_a_database},
      {"cut to half", [&](const std::string& path) { cut_to(path, 0); }, CatalogFault::damaged},
      {"cut inside the header", [&](const std::string& path) { cut_to(path, 60); }, CatalogFault::damaged},
      {"a corrupt page",
       [](const std::string& path) {
         make_catalog(path);
         std::string bytes = bytes_of(path);
         REQUIRE(bytes.size() >= 2 * 4096);
         // Page 2 (the schema_version table): its cell count and pointers.
         for (size_t i = 4096 + 3; i < 4096 + 16; ++i) bytes[i] = '\xff';
         write_file(path, bytes);
       },
       CatalogFault::damaged},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.what) {
      TempDir tmp;
      const std::string path = tmp / "catalog.db";
      c.make(path);
      CHECK(open_fault(path, CatalogStore::Access::read_only) == c.expected);
      CHECK(open_fault(path, CatalogStore::Access::read_write) == c.expected);
    }
  }
}

namespace {

// The rows of table served, counted by SQLite itself.
int64_t served_rows(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM served", -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  const int64_t n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(db);
  return n;
}

// The pid of a process that has ended (a child, reaped).
int64_t dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  REQUIRE(child > 0);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  return child;
}

}  // namespace

TEST_CASE("catalog: served rows: a disk with open files is not removed; rows of dead pids block nothing") {
  TempDir tmp;
  const std::string path = tmp / "catalog.db";
  make_catalog(path);
  CatalogStore store(path, CatalogStore::Access::read_write);
  store.add(disk("web02"));
  const int64_t me = getpid();
  CHECK(store.served("web01").empty());

  store.set_served({"web01", "/srv/vdiskfs", me, 0});
  store.set_open_files("web01", "/srv/vdiskfs", me, 2);
  REQUIRE(store.served("web01").size() == 1);
  CHECK(store.served("web01")[0].open_files == 2);
  const Refusal open = refusal([&] { store.remove("web01"); });
  CHECK(open.fault == CatalogFault::disk_open);
  CHECK(open.says("disk web01 of catalog " + path + " is open: 2 open files in /srv/vdiskfs/web01"));
  CHECK(open.says("(pid " + std::to_string(me) + ")"));
  CHECK(store.find("web01"));

  // Closed: removed, and its row with it.
  store.set_open_files("web01", "/srv/vdiskfs", me, 0);
  store.remove("web01");
  CHECK_FALSE(store.find("web01"));
  CHECK(store.served("web01").empty());
  // An open count for a disk removed meanwhile makes no row.
  store.set_open_files("web01", "/srv/vdiskfs", me, 1);
  CHECK(store.served("web01").empty());

  // A daemon killed hard: its row says open, but nobody runs it.
  const int64_t dead = dead_pid();
  store.set_served({"web02", "/mnt/old", dead, 3});
  CHECK(store.served("web02").empty());
  CHECK(served_rows(path) == 1);
  store.drop_served("/srv/vdiskfs", me);  // any writer purges dead rows
  CHECK(served_rows(path) == 0);
  store.remove("web02");
  CHECK_FALSE(store.find("web02"));
}

TEST_CASE("catalog: set_served again keeps the open count of its own row, replaces a dead pid's") {
  TempDir tmp;
  const std::string path = tmp / "catalog.db";
  make_catalog(path);
  CatalogStore store(path, CatalogStore::Access::read_write);
  const int64_t me = getpid();
  // A FUSE open recorded between the row and a rebuild's set_served.
  store.set_served({"web01", "/srv/vdiskfs", me, 0});
  store.set_open_files("web01", "/srv/vdiskfs", me, 1);
  store.set_served({"web01", "/srv/vdiskfs", me, 0});
  REQUIRE(store.served("web01").size() == 1);
  CHECK(store.served("web01")[0].open_files == 1);

  // A row left by a daemon that is gone: ours replaces it, count and all.
  const int64_t dead = dead_pid();
  store.set_served({"web02", "/srv/vdiskfs", dead, 3});
  store.set_served({"web02", "/srv/vdiskfs", me, 0});
  REQUIRE(store.served("web02").size() == 1);
  CHECK(store.served("web02")[0].pid == me);
  CHECK(store.served("web02")[0].open_files == 0);
}
