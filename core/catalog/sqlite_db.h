#pragma once
// A SQLite connection and its prepared statements (the sqlite3 C API),
// closed and finalized when they go out of scope. Every failure throws
// CatalogError naming the file: SQLite's "not a database" as
// not_a_database, its "malformed" as damaged, anything else as sqlite.
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace vdiskfs {

class SqliteStatement {
 public:
  SqliteStatement(sqlite3_stmt* stmt, std::string path) : stmt_(stmt), path_(std::move(path)) {}

  // Binds parameter `i` (1-based); nullopt binds NULL.
  SqliteStatement& bind(int i, const std::string& text);
  SqliteStatement& bind(int i, int64_t value);
  SqliteStatement& bind(int i, const std::optional<std::string>& text);
  // Runs the statement one step: true when it gave a row.
  bool step();
  // Column `c` (0-based) of the current row.
  std::string text(int c) const;
  std::optional<std::string> optional_text(int c) const;
  int64_t integer(int c) const;

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
  std::string path_;
};

class SqliteDb {
 public:
  enum class Mode { read_only, read_write, create };
  // Opens `path` (create: made when missing). Locked files are waited for
  // up to 5 s.
  SqliteDb(std::string path, Mode mode);

  // Runs SQL text of one or more statements without results.
  void exec(const char* sql);
  // A statement of `sql` for binding and stepping; it must not outlive
  // this connection.
  SqliteStatement prepare(const char* sql);
  const std::string& path() const { return path_; }

 private:
  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
  };
  std::unique_ptr<sqlite3, Close> db_;
  std::string path_;
};

// Throws the CatalogError for SQLite result `rc` met while `doing` on the
// database file `path`, with SQLite's message `detail`.
[[noreturn]] void fail_sqlite(int rc, const std::string& path, std::string_view doing, std::string_view detail);

// A transaction that rolls back unless commit() is called.
class SqliteTransaction {
 public:
  // BEGIN IMMEDIATE: takes the write lock at once.
  explicit SqliteTransaction(SqliteDb& db);
  ~SqliteTransaction();
  void commit();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;

 private:
  SqliteDb& db_;
  bool done_ = false;
};

}  // namespace vdiskfs
