#include "fuse/disk_table.h"

namespace vdiskfs {

void DiskTable::put(std::shared_ptr<DiskFolder> folder) {
  std::shared_ptr<DiskFolder> gone;  // released after the lock
  const DiskFolder* added = folder.get();
  {
    std::unique_lock lock(mutex_);
    std::shared_ptr<DiskFolder>& slot = folders_[folder->name];
    gone = std::move(slot);
    slot = std::move(folder);
  }
  changed(gone.get());
  changed(added);  // may hold pages cached by an open file of the old one
}

bool DiskTable::drop(const std::string& name) {
  std::shared_ptr<DiskFolder> gone;  // released after the lock
  {
    std::unique_lock lock(mutex_);
    const auto it = folders_.find(name);
    if (it == folders_.end()) return false;
    gone = std::move(it->second);
    folders_.erase(it);
  }
  changed(gone.get());
  return true;
}

void DiskTable::set_change_hook(ChangeHook hook) {
  std::lock_guard lock(hook_mutex_);
  hook_ = std::move(hook);
}

void DiskTable::changed(const DiskFolder* folder) {
  if (!folder) return;
  std::lock_guard lock(hook_mutex_);
  if (hook_) hook_(*folder);
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
