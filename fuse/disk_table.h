#pragma once
// The folders of a mount that serves several disks: one folder of exposed
// files per disk (MOUNTPOINT/<folder>/<file>), added and dropped while
// mounted. Knows nothing of catalogs or how the files were made.
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "fuse/file_table.h"

namespace vdiskfs {

// One folder: its files never change once it is in a DiskTable; an open
// file holds the folder (shared_ptr), so a dropped folder's open files keep
// reading until they are released.
struct DiskFolder {
  std::string name;
  FileTable files;
  int64_t mtime_ns = 0;  // the folder's times, ns since 1970
  // What the files read from (a source, a delta), kept alive with them.
  std::shared_ptr<void> owner;
  // Opens of the folder's files not yet released; changed under open_mutex.
  std::mutex open_mutex;
  int open_files = 0;
};

// The folders of a mount, by name. Every member is safe to call from many
// threads at once (a shared_mutex: lookups share it, put and drop take it).
class DiskTable {
 public:
  // Adds `folder`, replacing a folder of the same name.
  void put(std::shared_ptr<DiskFolder> folder);
  // Drops the folder `name`; false when there was none.
  bool drop(const std::string& name);
  // The folder `name`, or null.
  std::shared_ptr<DiskFolder> find(const std::string& name) const;
  // Every folder, sorted by name.
  std::vector<std::shared_ptr<DiskFolder>> folders() const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<DiskFolder>> folders_;
};

}  // namespace vdiskfs
