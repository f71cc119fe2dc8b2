#pragma once
// Why the catalog refused a file or a request, as a type: callers and
// tests tell the refusals apart by fault(), users by the message, which
// names the file and what to do.
#include <fmt/core.h>

#include <string>

#include "core/image/error.h"

namespace vdiskfs {

enum class CatalogFault {
  missing,           // no catalog file (a read never creates one)
  not_a_database,    // the file is not a SQLite database at all
  foreign_database,  // a SQLite database of another program
  newer_schema,      // written by a newer vdiskfs
  damaged,           // cut or corrupt
  sqlite,            // SQLite failed otherwise (I/O, locked, full disk)
  bad_name,          // a disk name that is not a safe folder name
  duplicate_name,    // a disk of that name is already listed
  no_such_disk,      // no disk of that name
  has_clones,        // the disk is the parent of others
  disk_open,         // a file of the disk is open on a running `vdiskfs serve`
  not_only_child,    // a clone merge while the parent has other clones
  shared_delta,      // another disk keeps its deltas in the same folder
};

class CatalogError : public Error {
 public:
  CatalogError(CatalogFault fault, const std::string& message) : Error(message), fault_(fault) {}
  CatalogFault fault() const { return fault_; }

 private:
  CatalogFault fault_;
};

template <typename... Args>
[[noreturn]] void fail_catalog(CatalogFault fault, fmt::format_string<Args...> f, Args&&... args) {
  throw CatalogError(fault, fmt::format(f, std::forward<Args>(args)...));
}

// Throws CatalogError damaged: "catalog PATH is WHAT: restore it from a
// backup, or move it away to start an empty catalog".
[[noreturn]] inline void fail_damaged(const std::string& path, const std::string& what) {
  fail_catalog(CatalogFault::damaged, "catalog {} is {}: restore it from a backup, or move it away to start an empty catalog",
               path, what);
}

}  // namespace vdiskfs
