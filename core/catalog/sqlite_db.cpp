#include "core/catalog/sqlite_db.h"

#include "core/catalog/catalog_error.h"

namespace vdiskfs {

void fail_sqlite(int rc, const std::string& path, std::string_view doing, std::string_view detail) {
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      fail_catalog(CatalogFault::not_a_database,
                   "{} is not a vdiskfs catalog: not a SQLite database ({}). Give another --catalog FILE, or move "
                   "this file away",
                   path, detail);
    case SQLITE_CORRUPT:
      fail_damaged(path, fmt::format("damaged ({})", detail));
    default:
      fail_catalog(CatalogFault::sqlite, "catalog {}: {} (while {})", path, detail, doing);
  }
}

SqliteStatement& SqliteStatement::bind(int i, const std::string& text) {
  const int rc = sqlite3_bind_text(stmt_.get(), i, text.data(), int(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) fail_sqlite(rc, path_, "binding a value", sqlite3_errstr(rc));
  return *this;
}

SqliteStatement& SqliteStatement::bind(int i, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_.get(), i, value);
  if (rc != SQLITE_OK) fail_sqlite(rc, path_, "binding a value", sqlite3_errstr(rc));
  return *this;
}

SqliteStatement& SqliteStatement::bind(int i, const std::optional<std::string>& text) {
  if (text) return bind(i, *text);
  const int rc = sqlite3_bind_null(stmt_.get(), i);
  if (rc != SQLITE_OK) fail_sqlite(rc, path_, "binding a value", sqlite3_errstr(rc));
  return *this;
}

bool SqliteStatement::step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail_sqlite(rc, path_, sqlite3_sql(stmt_.get()), sqlite3_errmsg(sqlite3_db_handle(stmt_.get())));
}

std::string SqliteStatement::text(int c) const {
  const unsigned char* p = sqlite3_column_text(stmt_.get(), c);
  return p ? std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(stmt_.get(), c))) : "";
}

std::optional<std::string> SqliteStatement::optional_text(int c) const {
  if (sqlite3_column_type(stmt_.get(), c) == SQLITE_NULL) return std::nullopt;
  return text(c);
}

int64_t SqliteStatement::integer(int c) const { return sqlite3_column_int64(stmt_.get(), c); }

SqliteDb::SqliteDb(std::string path, Mode mode) : path_(std::move(path)) {
  const int flags = mode == Mode::read_only    ? SQLITE_OPEN_READONLY
                    : mode == Mode::read_write ? SQLITE_OPEN_READWRITE
                                               : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path_.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  db_.reset(db);  // closed even when the open failed
  if (rc != SQLITE_OK) fail_sqlite(rc, path_, "opening it", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  sqlite3_busy_timeout(db, 5000);
  sqlite3_extended_result_codes(db, 1);
}

void SqliteDb::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return;
  const std::string detail = message ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  fail_sqlite(rc, path_, sql, detail);
}

SqliteStatement SqliteDb::prepare(const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_.get(), sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) fail_sqlite(rc, path_, sql, sqlite3_errmsg(db_.get()));
  return SqliteStatement(stmt, path_);
}

SqliteTransaction::SqliteTransaction(SqliteDb& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

SqliteTransaction::~SqliteTransaction() {
  if (done_) return;
  try {
    db_.exec("ROLLBACK");
  } catch (const CatalogError&) {
    // The connection closes next, which rolls back as well.
  }
}

void SqliteTransaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace vdiskfs
