#include "core/catalog/catalog_store.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>

#include "core/catalog/catalog_error.h"
#include "core/catalog/disk_name.h"
#include "core/image/endian.h"

namespace vdiskfs {
namespace {

// Version 1: the disks. A clone names its parent; the frozen layers of
// clones come with a later version.
constexpr const char* kVersion1 = R"sql(
PRAGMA application_id = 1986294635;  -- kCatalogApplicationId, "vdsk"
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE disks (
  name TEXT PRIMARY KEY NOT NULL,          -- a safe folder name
  source TEXT NOT NULL,                    -- canonical path, chain or share URL
  layout TEXT NOT NULL DEFAULT '{}',       -- layout options, a JSON object
  delta_dir TEXT NOT NULL,                 -- absolute path of its deltas
  parent TEXT REFERENCES disks(name),      -- the disk it is a clone of
  created INTEGER NOT NULL,                -- seconds since 1970, UTC
  identity TEXT                            -- hex identity, once computed
);
CREATE INDEX disks_by_parent ON disks(parent);
)sql";

// Version 2: which running `vdiskfs serve` serves a disk, and its open
// files (a disk with open files is not removed). Rows of dead pids are
// stale and ignored.
constexpr const char* kVersion2 = R"sql(
CREATE TABLE served (
  name TEXT NOT NULL,                      -- the disk (no foreign key: rows outlive nothing)
  mount_point TEXT NOT NULL,               -- canonical path of the serve mount
  pid INTEGER NOT NULL,                    -- the serving daemon
  open_files INTEGER NOT NULL DEFAULT 0,   -- opens of its files not yet released
  updated INTEGER NOT NULL,                -- seconds since 1970, UTC
  PRIMARY KEY (name, mount_point)
);
)sql";

// Version 3: frozen layers of clones. A disk stands on its top layer (or
// none); each layer on the one below it.
constexpr const char* kVersion3 = R"sql(
CREATE TABLE layers (
  id TEXT PRIMARY KEY NOT NULL,            -- "<disk>-<n>"
  dir TEXT NOT NULL,                       -- absolute path of its folder
  below TEXT REFERENCES layers(id),        -- the layer under it
  created INTEGER NOT NULL                 -- seconds since 1970, UTC
);
ALTER TABLE disks ADD COLUMN top_layer TEXT REFERENCES layers(id);
CREATE TABLE clone_requests (              -- clones of served disks, made by the daemon
  id INTEGER PRIMARY KEY,
  parent TEXT NOT NULL,                    -- the disk to clone
  name TEXT NOT NULL,                      -- the clone
  delta_dir TEXT NOT NULL,                 -- the clone's delta folder
  pid INTEGER NOT NULL,                    -- the daemon asked
  state TEXT NOT NULL DEFAULT 'asked',     -- asked, done, failed, cancelled
  answer TEXT NOT NULL DEFAULT '',         -- the daemon's answer: JSON when done, the error when failed
  created INTEGER NOT NULL                 -- seconds since 1970, UTC
);
)sql";

// The columns of a disk row as disk_of_row reads them (a version 2 file,
// read only, has no top_layer).
std::string disk_columns(int version) {
  return std::string("name, source, layout, delta_dir, parent, created, identity, ") +
         (version >= 3 ? "top_layer" : "NULL");
}

// The first 100 bytes of a SQLite file (its header), read before SQLite
// opens it: a file that is no database, or was cut short, is refused here.
void check_header(const std::string& path, uint64_t size) {
  if (size == 0) return;  // an empty catalog: version 0
  uint8_t h[100] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(h), sizeof h);
  if (size < sizeof h && std::memcmp(h, "SQLite format 3", std::min<size_t>(size, 16)) == 0)
    fail_damaged(path, fmt::format("cut short: {} bytes, less than a SQLite header", size));
  if (size < sizeof h || std::memcmp(h, "SQLite format 3", 16) != 0)
    fail_catalog(CatalogFault::not_a_database,
                 "{} is not a vdiskfs catalog: not a SQLite database (it does not start with \"SQLite format 3\"). "
                 "Give another --catalog FILE, or move this file away",
                 path);
  const uint32_t page_size = h[16] == 0 && h[17] == 1 ? 65536 : uint32_t(h[16]) << 8 | h[17];
  const uint64_t pages = get_be32(h + 28);
  // The page count is valid when the change counter matches the version
  // that wrote it (SQLite's file format, "in-header database size").
  const bool counted = get_be32(h + 24) == get_be32(h + 92) && pages > 0;
  if (counted ? pages * page_size > size : size % page_size != 0)
    fail_damaged(path, counted ? fmt::format("cut short: {} bytes, not the {} its header says ({} pages of {})", size,
                                             pages * page_size, pages, page_size)
                               : fmt::format("cut short: {} bytes, not whole pages of {}", size, page_size));
}

// SQLite's own check of the file's structure; throws damaged with its
// first findings.
void quick_check(SqliteDb& db) {
  SqliteStatement check = db.prepare("PRAGMA quick_check(3)");
  std::string findings;
  while (check.step())
    if (std::string row = check.text(0); row != "ok") {
      std::replace(row.begin(), row.end(), '\n', ' ');
      findings += (findings.empty() ? "" : "; ") + row;
    }
  if (!findings.empty())
    fail_damaged(db.path(), "damaged (SQLite's quick_check: " + findings + ")");
}

int64_t single_integer(SqliteDb& db, const char* sql) {
  SqliteStatement s = db.prepare(sql);
  return s.step() ? s.integer(0) : 0;
}

// The schema version of an open file, refusing what this program must not
// touch. Only reads.
int inspect(SqliteDb& db, int latest) {
  const auto app = uint32_t(single_integer(db, "PRAGMA application_id"));
  const int64_t tables = single_integer(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'");
  if (app == 0 && tables == 0) return 0;
  if (app != kCatalogApplicationId)
    fail_catalog(CatalogFault::foreign_database,
                 "{} is a SQLite database of another program (application_id 0x{:08x}, {} table{}), not a vdiskfs "
                 "catalog: give another --catalog FILE",
                 db.path(), app, tables, tables == 1 ? "" : "s");
  quick_check(db);
  if (single_integer(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'") == 0 ||
      single_integer(db, "SELECT count(*) FROM schema_version") != 1)
    fail_damaged(db.path(), "damaged: its schema_version table is missing or does not hold one row");
  const int64_t version = single_integer(db, "SELECT version FROM schema_version");
  if (version > latest)
    fail_catalog(CatalogFault::newer_schema,
                 "catalog {} has schema version {}, newer than the {} this vdiskfs knows: use the newer vdiskfs that "
                 "wrote it (this one leaves the file alone)",
                 db.path(), version, latest);
  if (version < 1)
    fail_damaged(db.path(), fmt::format("damaged: its schema version is {}", version));
  return int(version);
}

// Applies the migrations above the file's version in one transaction
// (re-read under the write lock); returns the new version.
int migrate(SqliteDb& db, const std::vector<CatalogMigration>& migrations, int latest) {
  SqliteTransaction transaction(db);
  int version = inspect(db, latest);
  for (const CatalogMigration& m : migrations) {
    if (m.version <= version) continue;
    db.exec(m.sql);
    db.exec("DELETE FROM schema_version");
    db.prepare("INSERT INTO schema_version (version) VALUES (?)").bind(1, int64_t(m.version)).step();
    version = m.version;
  }
  transaction.commit();
  return version;
}

// The connection to a checked catalog file, migrated when written to.
SqliteDb open_catalog(const std::string& path, CatalogStore::Access access,
                      const std::vector<CatalogMigration>& migrations, int& version) {
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  struct stat st;
  const bool exists = stat(path.c_str(), &st) == 0;
  if (!exists && access == CatalogStore::Access::read_only)
    fail_catalog(CatalogFault::missing, "catalog {} does not exist (vdiskfs catalog add creates it)", path);
  if (exists) {
    check_header(path, uint64_t(st.st_size));
    SqliteDb checked(path, SqliteDb::Mode::read_only);
    version = inspect(checked, latest);
    if (access == CatalogStore::Access::read_only) return checked;
  }
  SqliteDb db(path, exists ? SqliteDb::Mode::read_write : SqliteDb::Mode::create);
  db.exec("PRAGMA foreign_keys = ON");
  if (!exists || version < latest) version = migrate(db, migrations, latest);
  return db;
}

// True while process `pid` runs (EPERM: it runs as another user).
bool pid_alive(int64_t pid) { return pid > 0 && (kill(pid_t(pid), 0) == 0 || errno == EPERM); }

CatalogDisk disk_of_row(const SqliteStatement& row) {
  CatalogDisk d;
  d.name = row.text(0);
  d.source = row.text(1);
  d.layout = row.text(2);
  d.delta_dir = row.text(3);
  d.parent = row.optional_text(4);
  d.created = row.integer(5);
  d.identity = row.optional_text(6);
  d.top_layer = row.optional_text(7);
  return d;
}

// A row of SELECT id, parent, name, delta_dir, pid, state, answer FROM
// clone_requests.
CloneRequest request_of_row(const SqliteStatement& row) {
  return {row.integer(0), row.text(1), row.text(2), row.text(3), row.integer(4), row.text(5), row.text(6)};
}

CatalogLayer layer_of_row(const SqliteStatement& row) {
  return {row.text(0), row.text(1), row.optional_text(2), row.integer(3)};
}

}  // namespace

const std::vector<CatalogMigration>& catalog_migrations() {
  static const std::vector<CatalogMigration> migrations = {{1, kVersion1}, {2, kVersion2}, {3, kVersion3}};
  return migrations;
}

CatalogStore::CatalogStore(std::string path, Access access, const std::vector<CatalogMigration>& migrations)
    : db_(open_catalog(path, access, migrations, version_)) {}

void CatalogStore::check_name_free(const std::string& name, const std::string& advice) const {
  if (const auto existing = find(name))
    fail_catalog(CatalogFault::duplicate_name, "catalog {} already has a disk named {} (source {}): {}", path(), name,
                 existing->source, advice);
}

void CatalogStore::add(const CatalogDisk& disk) {
  check_disk_name(disk.name);
  SqliteTransaction transaction(db_);
  check_name_free(disk.name, fmt::format("choose another name, or run vdiskfs catalog remove {} first", disk.name));
  if (disk.parent && !find(*disk.parent))
    fail_catalog(CatalogFault::no_such_disk, "catalog {} has no disk {} to be the parent of {}", path(), *disk.parent,
                 disk.name);
  insert_disk(disk, std::nullopt);
  transaction.commit();
}

void CatalogStore::insert_disk(const CatalogDisk& disk, const std::optional<std::string>& top_layer) {
  const bool layered = version_ >= 3;
  SqliteStatement insert =
      db_.prepare(layered ? "INSERT INTO disks (name, source, layout, delta_dir, parent, created, identity, top_layer) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                          : "INSERT INTO disks (name, source, layout, delta_dir, parent, created, identity) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, disk.name)
      .bind(2, disk.source)
      .bind(3, disk.layout)
      .bind(4, disk.delta_dir)
      .bind(5, disk.parent)
      .bind(6, disk.created)
      .bind(7, disk.identity);
  if (layered) insert.bind(8, top_layer);
  insert.step();
}

void CatalogStore::check_not_open(const std::string& name, const char* doing) const {
  for (const ServedDisk& s : served(name))
    if (s.open_files > 0)
      fail_catalog(CatalogFault::disk_open,
                   "disk {} of catalog {} is open: {} open file{} in {}/{} of the vdiskfs serve mount on {} (pid {}); "
                   "close {} (stop the VM or program using it) and {} again",
                   name, path(), s.open_files, s.open_files == 1 ? "" : "s", s.mount_point, name, s.mount_point, s.pid,
                   s.open_files == 1 ? "it" : "them", doing);
}

void CatalogStore::check_no_clones(const std::string& name) const {
  if (const std::vector<std::string> children = clones(name); !children.empty())
    fail_catalog(CatalogFault::has_clones, "disk {} of catalog {} has clones ({}): remove them first", name, path(),
                 fmt::join(children, ", "));
}

void CatalogStore::delete_disk_row(const std::string& name) {
  db_.prepare("DELETE FROM disks WHERE name = ?").bind(1, name).step();
  if (version_ >= 2) db_.prepare("DELETE FROM served WHERE name = ?").bind(1, name).step();
}

std::vector<CatalogLayer> CatalogStore::drop_unused_layers() {
  std::vector<CatalogLayer> unused;
  if (version_ < 3) return unused;
  std::set<std::string> used;
  for (const CatalogDisk& d : list())
    for (const CatalogLayer& l : layers_of(d.name)) used.insert(l.id);
  for (const CatalogLayer& l : layers()) {
    if (used.count(l.id)) continue;
    db_.prepare("UPDATE layers SET below = NULL WHERE id = ?").bind(1, l.id).step();  // then any order deletes
    unused.push_back(l);
  }
  for (const CatalogLayer& l : unused) db_.prepare("DELETE FROM layers WHERE id = ?").bind(1, l.id).step();
  return unused;
}

std::vector<CatalogLayer> CatalogStore::remove(const std::string& name) {
  SqliteTransaction transaction(db_);
  get(name);
  check_not_open(name, "run remove");
  check_no_clones(name);
  delete_disk_row(name);
  std::vector<CatalogLayer> unused = drop_unused_layers();
  transaction.commit();
  return unused;
}

void CatalogStore::clone(const CatalogDisk& disk, const std::optional<CatalogLayer>& frozen) {
  if (version_ < 3) fail_catalog(CatalogFault::sqlite, "catalog {} is not open for writing clones", path());
  check_disk_name(disk.name);
  SqliteTransaction transaction(db_);
  if (!disk.parent) fail_catalog(CatalogFault::no_such_disk, "a clone needs a parent disk");
  const CatalogDisk parent = get(*disk.parent);
  check_name_free(disk.name, kCloneNameAdvice);
  std::optional<std::string> top = parent.top_layer;
  if (frozen) {
    db_.prepare("INSERT INTO layers (id, dir, below, created) VALUES (?, ?, ?, ?)")
        .bind(1, frozen->id)
        .bind(2, frozen->dir)
        .bind(3, parent.top_layer)
        .bind(4, frozen->created)
        .step();
    top = frozen->id;
    db_.prepare("UPDATE disks SET top_layer = ? WHERE name = ?").bind(1, top).bind(2, parent.name).step();
  }
  insert_disk(disk, top);
  transaction.commit();
}

void CatalogStore::check_merge(const std::string& name) const {
  const CatalogDisk clone = get(name);
  if (!clone.parent)
    fail_catalog(CatalogFault::no_such_disk, "disk {} of catalog {} is not a clone: there is no parent to merge into",
                 name, path());
  const CatalogDisk parent = get(*clone.parent);
  check_not_open(name, "merge");
  check_not_open(parent.name, "merge");
  check_no_clones(name);
  if (const std::vector<std::string> siblings = clones(parent.name); siblings.size() > 1)
    fail_catalog(CatalogFault::not_only_child,
                 "disk {} of catalog {} has other clones besides {} ({}): a merge would change what they stand on; "
                 "remove them first",
                 parent.name, path(), name, fmt::join(siblings, ", "));
}

std::vector<CatalogLayer> CatalogStore::merge_into_parent(const std::string& name) {
  SqliteTransaction transaction(db_);
  check_merge(name);
  const CatalogDisk clone = get(name);
  db_.prepare("UPDATE disks SET top_layer = ? WHERE name = ?").bind(1, clone.top_layer).bind(2, *clone.parent).step();
  delete_disk_row(name);
  std::vector<CatalogLayer> unused = drop_unused_layers();
  transaction.commit();
  return unused;
}

int64_t CatalogStore::ask_clone(const CloneRequest& request) {
  db_.prepare("INSERT INTO clone_requests (parent, name, delta_dir, pid, created) VALUES (?, ?, ?, ?, ?)")
      .bind(1, request.parent)
      .bind(2, request.name)
      .bind(3, request.delta_dir)
      .bind(4, request.pid)
      .bind(5, int64_t(time(nullptr)))
      .step();
  return single_integer(db_, "SELECT last_insert_rowid()");
}

std::vector<CloneRequest> CatalogStore::clone_requests(int64_t pid) const {
  std::vector<CloneRequest> out;
  if (version_ < 3) return out;
  SqliteStatement s = db_.prepare(
      "SELECT id, parent, name, delta_dir, pid, state, answer FROM clone_requests WHERE pid = ? AND state = 'asked' "
      "ORDER BY id");
  s.bind(1, pid);
  while (s.step()) out.push_back(request_of_row(s));
  return out;
}

CloneRequest CatalogStore::clone_request(int64_t id) const {
  SqliteStatement s =
      db_.prepare("SELECT id, parent, name, delta_dir, pid, state, answer FROM clone_requests WHERE id = ?");
  s.bind(1, id);
  if (!s.step()) fail_catalog(CatalogFault::no_such_disk, "catalog {} has no clone request {}", path(), id);
  return request_of_row(s);
}

bool CatalogStore::answer_clone(int64_t id, const std::string& from_state, const std::string& state,
                                const std::string& answer) {
  db_.prepare("UPDATE clone_requests SET state = ?, answer = ? WHERE id = ? AND state = ?")
      .bind(1, state)
      .bind(2, answer)
      .bind(3, id)
      .bind(4, from_state)
      .step();
  return single_integer(db_, "SELECT changes()") == 1;
}

std::vector<CatalogLayer> CatalogStore::layers_of(const std::string& name) const {
  std::vector<CatalogLayer> chain;
  if (version_ < 3) return chain;
  std::optional<std::string> next = get(name).top_layer;
  while (next) {
    SqliteStatement s = db_.prepare("SELECT id, dir, below, created FROM layers WHERE id = ?");
    s.bind(1, *next);
    if (!s.step()) fail_damaged(path(), fmt::format("damaged: layer {} under disk {} is not listed", *next, name));
    chain.push_back(layer_of_row(s));
    next = chain.back().below;
    if (chain.size() > 100000) fail_damaged(path(), fmt::format("damaged: the layers under disk {} form a loop", name));
  }
  std::reverse(chain.begin(), chain.end());
  return chain;
}

std::vector<CatalogLayer> CatalogStore::layers() const {
  std::vector<CatalogLayer> out;
  if (version_ < 3) return out;
  for (SqliteStatement s = db_.prepare("SELECT id, dir, below, created FROM layers ORDER BY id"); s.step();)
    out.push_back(layer_of_row(s));
  return out;
}

std::string CatalogStore::next_layer_id(const std::string& name) const {
  for (int n = 1;; ++n) {
    const std::string id = fmt::format("{}-{}", name, n);
    SqliteStatement s = db_.prepare("SELECT count(*) FROM layers WHERE id = ?");
    s.bind(1, id);
    if (!s.step() || s.integer(0) == 0) return id;
  }
}

std::vector<CatalogDisk> CatalogStore::list() const {
  std::vector<CatalogDisk> out;
  if (version_ == 0) return out;
  SqliteStatement s = db_.prepare(fmt::format("SELECT {} FROM disks ORDER BY name", disk_columns(version_)).c_str());
  while (s.step()) out.push_back(disk_of_row(s));
  return out;
}

std::optional<CatalogDisk> CatalogStore::find(const std::string& name) const {
  if (version_ == 0) return std::nullopt;
  SqliteStatement s = db_.prepare(fmt::format("SELECT {} FROM disks WHERE name = ?", disk_columns(version_)).c_str());
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return disk_of_row(s);
}

CatalogDisk CatalogStore::get(const std::string& name) const {
  std::optional<CatalogDisk> disk = find(name);
  if (!disk)
    fail_catalog(CatalogFault::no_such_disk, "catalog {} has no disk named {} (vdiskfs catalog list shows them)",
                 path(), name);
  return *disk;
}

std::vector<std::string> CatalogStore::clones(const std::string& name) const {
  std::vector<std::string> out;
  if (version_ == 0) return out;
  SqliteStatement s = db_.prepare("SELECT name FROM disks WHERE parent = ? ORDER BY name");
  s.bind(1, name);
  while (s.step()) out.push_back(s.text(0));
  return out;
}

void CatalogStore::set_served(const ServedDisk& served) {
  // The row of the same daemon keeps its count (an open recorded meanwhile);
  // a row of another pid (one that is gone) is taken over with ours.
  db_.prepare("INSERT INTO served (name, mount_point, pid, open_files, updated) VALUES (?, ?, ?, ?, ?) "
              "ON CONFLICT (name, mount_point) DO UPDATE SET updated = excluded.updated, "
              "open_files = CASE WHEN served.pid = excluded.pid THEN served.open_files ELSE excluded.open_files END, "
              "pid = excluded.pid")
      .bind(1, served.name)
      .bind(2, served.mount_point)
      .bind(3, served.pid)
      .bind(4, served.open_files)
      .bind(5, int64_t(time(nullptr)))
      .step();
}

void CatalogStore::set_open_files(const std::string& name, const std::string& mount_point, int64_t pid,
                                  int64_t open_files) {
  db_.prepare("UPDATE served SET open_files = ?, updated = ? WHERE name = ? AND mount_point = ? AND pid = ?")
      .bind(1, open_files)
      .bind(2, int64_t(time(nullptr)))
      .bind(3, name)
      .bind(4, mount_point)
      .bind(5, pid)
      .step();
}

void CatalogStore::drop_served(const std::string& mount_point, int64_t pid, const std::string& name) {
  SqliteTransaction transaction(db_);
  if (name.empty())
    db_.prepare("DELETE FROM served WHERE mount_point = ? AND pid = ?").bind(1, mount_point).bind(2, pid).step();
  else
    db_.prepare("DELETE FROM served WHERE name = ? AND mount_point = ? AND pid = ?")
        .bind(1, name)
        .bind(2, mount_point)
        .bind(3, pid)
        .step();
  std::vector<int64_t> dead;
  for (SqliteStatement s = db_.prepare("SELECT DISTINCT pid FROM served"); s.step();)
    if (!pid_alive(s.integer(0))) dead.push_back(s.integer(0));
  for (const int64_t p : dead) db_.prepare("DELETE FROM served WHERE pid = ?").bind(1, p).step();
  transaction.commit();
}

std::vector<ServedDisk> CatalogStore::served(const std::string& name) const {
  std::vector<ServedDisk> out;
  if (version_ < 2) return out;
  SqliteStatement s = db_.prepare("SELECT mount_point, pid, open_files FROM served WHERE name = ? ORDER BY mount_point");
  s.bind(1, name);
  while (s.step())
    if (pid_alive(s.integer(1))) out.push_back({name, s.text(0), s.integer(1), s.integer(2)});
  return out;
}

}  // namespace vdiskfs
