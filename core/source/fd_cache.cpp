#include "core/source/fd_cache.h"

#include <unistd.h>

namespace vdiskfs {

FdCache::FdCache(size_t capacity) : capacity_(capacity ? capacity : 1) {}

FdCache::~FdCache() {
  for (auto& [key, slot] : slots_) close(slot.fd);
}

FdCache::Lease FdCache::acquire(uint32_t key, const std::function<int()>& opener) {
  {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(key);
    if (it != slots_.end()) {
      ++it->second.refs;
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      return Lease(this, key, it->second.fd, 0);
    }
  }
  const int fd = opener();
  if (fd < 0) return Lease(nullptr, key, -1, -fd);
  std::lock_guard lock(mutex_);
  auto it = slots_.find(key);
  if (it != slots_.end()) {  // another thread opened it meanwhile
    close(fd);
    ++it->second.refs;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return Lease(this, key, it->second.fd, 0);
  }
  lru_.push_front(key);
  slots_.emplace(key, Slot{fd, 1, lru_.begin()});
  evict_locked();
  return Lease(this, key, fd, 0);
}

void FdCache::release(uint32_t key) {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(key);
  if (it != slots_.end() && it->second.refs > 0) --it->second.refs;
  evict_locked();
}

void FdCache::evict_locked() {
  // Walk from the oldest end; descriptors still in use stay open.
  auto it = lru_.end();
  while (slots_.size() > capacity_ && it != lru_.begin()) {
    --it;
    auto slot = slots_.find(*it);
    if (slot->second.refs != 0) continue;
    close(slot->second.fd);
    slots_.erase(slot);
    it = lru_.erase(it);
  }
}

}  // namespace vdiskfs
