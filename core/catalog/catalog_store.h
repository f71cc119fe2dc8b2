#pragma once
// The catalog: the disks one machine serves, kept in a SQLite file.
//
// The file holds PRAGMA application_id kCatalogApplicationId, a table
// schema_version (one row: the version) and the tables of that version.
// An empty file is version 0; opening it for writing applies the
// migrations above its version in one transaction. A file this program
// must not touch is refused before anything is written to it, with a
// CatalogError naming it: not a SQLite database, a database of another
// program, a newer schema version, a cut or corrupt file.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/catalog/sqlite_db.h"

namespace vdiskfs {

// The application_id of a catalog file ("vdsk").
inline constexpr uint32_t kCatalogApplicationId = 0x7664736b;

// One disk of the catalog.
struct CatalogDisk {
  std::string name;                     // a safe folder name (disk_name_problem)
  std::string source;                   // canonical: absolute path, chain a+b, or share URL
  std::string layout = "{}";            // the layout options, a JSON object
  std::string delta_dir;                // absolute path of its deltas
  std::optional<std::string> parent;    // the disk it is a clone of
  int64_t created = 0;                  // seconds since 1970, UTC
  std::optional<std::string> identity;  // hex identity, once computed
};

// One step of the schema: the SQL that takes a file from version - 1 to
// `version`.
struct CatalogMigration {
  int version;
  const char* sql;
};

// The migrations of this program, from version 1 upward.
const std::vector<CatalogMigration>& catalog_migrations();

class CatalogStore {
 public:
  enum class Access { read_only, read_write };

  // Opens the catalog at `path`. read_only never writes (a missing file
  // throws CatalogFault::missing). read_write creates a missing file and
  // brings an older file up to the last of `migrations` in one
  // transaction. Throws CatalogError for the refusals above.
  CatalogStore(std::string path, Access access,
               const std::vector<CatalogMigration>& migrations = catalog_migrations());

  // The schema version of the file (0: empty, read-only).
  int schema_version() const { return version_; }
  const std::string& path() const { return db_.path(); }

  // Adds a disk. Throws CatalogError bad_name, duplicate_name, or
  // no_such_disk for a parent that is not listed.
  void add(const CatalogDisk& disk);
  // Removes a disk. Throws CatalogError no_such_disk, or has_clones when
  // other disks name it as their parent.
  void remove(const std::string& name);
  // Every disk, by name.
  std::vector<CatalogDisk> list() const;
  // The disk `name`, or nullopt.
  std::optional<CatalogDisk> find(const std::string& name) const;
  // The disk `name`; throws CatalogError no_such_disk.
  CatalogDisk get(const std::string& name) const;
  // The names of the disks whose parent is `name`, sorted.
  std::vector<std::string> clones(const std::string& name) const;

 private:
  int version_ = 0;  // before db_: open_catalog sets it
  mutable SqliteDb db_;
};

}  // namespace vdiskfs
