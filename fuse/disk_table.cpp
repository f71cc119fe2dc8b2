#include "fuse/disk_table.h"

namespace vdiskfs {

void DiskTable::put(std::shared_ptr<DiskFolder> folder) {
  std::unique_lock lock(mutex_);
  std::string name = folder->name;
  folders_[std::move(name)] = std::move(folder);
}

bool DiskTable::drop(const std::string& name) {
  std::shared_ptr<DiskFolder> gone;  // released after the lock
  std::unique_lock lock(mutex_);
  const auto it = folders_.find(name);
  if (it == folders_.end()) return false;
  gone = std::move(it->second);
  folders_.erase(it);
  return true;
}

std::shared_ptr<DiskFolder> DiskTable::find(const std::string& name) const {
  std::shared_lock lock(mutex_);
  const auto it = folders_.find(name);
  return it == folders_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<DiskFolder>> DiskTable::folders() const {
  std::shared_lock lock(mutex_);
  std::vector<std::shared_ptr<DiskFolder>> out;
  out.reserve(folders_.size());
  for (const auto& [name, folder] : folders_) out.push_back(folder);
  return out;
}

}  // namespace vdiskfs
