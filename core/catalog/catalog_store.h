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
  std::optional<std::string> top_layer; // the frozen layer under its delta (schema 3), or none
};

// A frozen layer of the catalog (core/delta/frozen_layer.h): the deltas of
// a disk at the moment it was cloned, shared read-only by the disks above.
struct CatalogLayer {
  std::string id;                    // its name: "<disk>-<n>"
  std::string dir;                   // absolute path of its folder
  std::optional<std::string> below;  // the layer under it, or none
  int64_t created = 0;               // seconds since 1970, UTC
};

// A disk as a running `vdiskfs serve` serves it: where, by which process,
// and how many opens of its files are not yet released.
struct ServedDisk {
  std::string name;         // the disk
  std::string mount_point;  // canonical path of the serve mount
  int64_t pid = 0;          // the serving daemon
  int64_t open_files = 0;   // opens of MOUNTPOINT/NAME/* not yet released
};

// A clone of a served disk, asked of the daemon serving it (schema 3): the
// daemon freezes the disk's deltas while no write runs, records the clone
// and answers.
struct CloneRequest {
  int64_t id = 0;
  std::string parent;     // the disk to clone
  std::string name;       // the clone
  std::string delta_dir;  // the clone's delta folder
  int64_t pid = 0;        // the daemon asked
  std::string state;      // asked, done, failed, cancelled
  std::string answer;     // done: JSON of what was made; failed: the error
};

// What a refused clone name tells the user to do.
inline constexpr const char* kCloneNameAdvice = "choose another name for the clone";

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

  // Throws CatalogError duplicate_name, saying `advice`, when a disk named
  // `name` is listed.
  void check_name_free(const std::string& name, const std::string& advice) const;
  // Adds a disk. Throws CatalogError bad_name, duplicate_name, or
  // no_such_disk for a parent that is not listed.
  void add(const CatalogDisk& disk);
  // Removes a disk, the rows of the mounts serving it, and the rows of the
  // frozen layers no remaining disk stands on; returns those layers (their
  // folders are the caller's to delete). Throws CatalogError no_such_disk,
  // has_clones when other disks name it as their parent, or disk_open
  // (naming the mount and pid) while a live daemon records files of it open.
  std::vector<CatalogLayer> remove(const std::string& name);

  // Records a clone in one transaction: `frozen` (when given) becomes a
  // layer over the parent's top layer and the parent's new top layer; the
  // clone `disk` (its parent set) is added over the parent's top layer.
  // Throws CatalogError bad_name, duplicate_name, no_such_disk. Needs schema
  // version 3.
  void clone(const CatalogDisk& disk, const std::optional<CatalogLayer>& frozen);
  // Drops the row of clone `name` once its deltas were folded into its
  // parent's: the parent now stands on the clone's top layer. Returns the
  // frozen layers nobody stands on any more (their folders are the
  // caller's to delete). Throws CatalogError no_such_disk (also for a disk
  // that is no clone), has_clones (the clone has clones), not_only_child
  // (the parent has other clones), disk_open (clone or parent open on a
  // live daemon).
  std::vector<CatalogLayer> merge_into_parent(const std::string& name);
  // Throws what merge_into_parent would, without writing.
  void check_merge(const std::string& name) const;
  // Asks daemon `request.pid` for a clone; returns the request's id.
  int64_t ask_clone(const CloneRequest& request);
  // The requests still asked of daemon `pid`, oldest first.
  std::vector<CloneRequest> clone_requests(int64_t pid) const;
  // Request `id`; throws CatalogError no_such_disk when there is none.
  CloneRequest clone_request(int64_t id) const;
  // Moves request `id` from state `from_state` to `state` with `answer`;
  // false when it was no longer in `from_state` (taken or cancelled).
  bool answer_clone(int64_t id, const std::string& from_state, const std::string& state, const std::string& answer);
  // The frozen layers under disk `name`, bottom first.
  std::vector<CatalogLayer> layers_of(const std::string& name) const;
  // Every frozen layer, by id.
  std::vector<CatalogLayer> layers() const;
  // The next free layer id for disk `name`: "<name>-1", "<name>-2", ...
  std::string next_layer_id(const std::string& name) const;

  // Records that the daemon `served.pid` serves disk `served.name` on
  // `served.mount_point`, with its open count. A row of that disk, mount
  // and pid keeps the count it has (set_open_files may have recorded an
  // open meanwhile); a row of that disk and mount of another pid is
  // replaced. Needs schema version 2; throws CatalogError sqlite.
  void set_served(const ServedDisk& served);
  // Sets the open count of a row set_served made; no row (the disk was
  // removed meanwhile): nothing.
  void set_open_files(const std::string& name, const std::string& mount_point, int64_t pid, int64_t open_files);
  // Drops the row of disk `name` ("" : every row) of the daemon `pid` on
  // `mount_point`, and the rows of daemons that are gone.
  void drop_served(const std::string& mount_point, int64_t pid, const std::string& name = "");
  // The live daemons serving disk `name` (rows of dead pids left out).
  std::vector<ServedDisk> served(const std::string& name) const;
  // Every disk, by name.
  std::vector<CatalogDisk> list() const;
  // The disk `name`, or nullopt.
  std::optional<CatalogDisk> find(const std::string& name) const;
  // The disk `name`; throws CatalogError no_such_disk.
  CatalogDisk get(const std::string& name) const;
  // The names of the disks whose parent is `name`, sorted.
  std::vector<std::string> clones(const std::string& name) const;

 private:
  void insert_disk(const CatalogDisk& disk, const std::optional<std::string>& top_layer);
  // Throw disk_open (saying what to do `doing` again) / has_clones.
  void check_not_open(const std::string& name, const char* doing) const;
  void check_no_clones(const std::string& name) const;
  void delete_disk_row(const std::string& name);
  // Deletes the rows of the layers no disk stands on; returns them.
  std::vector<CatalogLayer> drop_unused_layers();

  int version_ = 0;  // before db_: open_catalog sets it
  mutable SqliteDb db_;
};

}  // namespace vdiskfs
