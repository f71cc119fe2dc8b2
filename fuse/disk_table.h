#pragma once
// The folders of a mount that serves several disks: one folder of exposed
// files per disk (MOUNTPOINT/<folder>/<file>), added and dropped while
// mounted. Knows nothing of catalogs or how the files were made.
#include <functional>
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
};

// The folders of a mount, by name. Every member is safe to call from many
// threads at once (a shared_mutex: lookups share it, put and drop take it).
class DiskTable {
 public:
  // Called with each folder that leaves the table (dropped, or replaced by
  // put) and with each folder put, after the table's lock is released: the
  // FUSE front end tells the kernel to forget what it cached under its
  // paths. Must not throw.
  using ChangeHook = std::function<void(const DiskFolder&)>;

  // Adds `folder`, replacing a folder of the same name.
  void put(std::shared_ptr<DiskFolder> folder);
  // Drops the folder `name`; false when there was none.
  bool drop(const std::string& name);
  // Sets the hook (null: none). Returns once no call of the hook it
  // replaces is under way, so what the old hook used can then go.
  void set_change_hook(ChangeHook hook);
  // The folder `name`, or null.
  std::shared_ptr<DiskFolder> find(const std::string& name) const;
  // Every folder, sorted by name.
  std::vector<std::shared_ptr<DiskFolder>> folders() const;

 private:
  // Runs the hook on `folder` (if any) under hook_mutex_.
  void changed(const DiskFolder* folder);

  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<DiskFolder>> folders_;
  std::mutex hook_mutex_;  // held while the hook runs and when it is set
  ChangeHook hook_;
};

}  // namespace vdiskfs
