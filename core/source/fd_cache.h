#pragma once
// A bounded, thread-safe cache of open file descriptors keyed by tree node,
// so that reading many small files does not pay open/close per read.
// Descriptors in use are never closed under a reader.
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>

namespace vdiskfs {

class FdCache {
 public:
  explicit FdCache(size_t capacity);
  ~FdCache();
  FdCache(const FdCache&) = delete;
  FdCache& operator=(const FdCache&) = delete;

  // Keeps one descriptor open while held; fd() < 0 means the open failed
  // and error() holds its errno.
  class Lease {
   public:
    Lease(FdCache* cache, uint32_t key, int fd, int error)
        : cache_(cache), key_(key), fd_(fd), error_(error) {}
    Lease(Lease&& o) noexcept : cache_(o.cache_), key_(o.key_), fd_(o.fd_), error_(o.error_) {
      o.cache_ = nullptr;
    }
    Lease(const Lease&) = delete;
    ~Lease() {
      if (cache_ && fd_ >= 0) cache_->release(key_);
    }
    int fd() const { return fd_; }
    int error() const { return error_; }

   private:
    FdCache* cache_;
    uint32_t key_;
    int fd_;
    int error_;
  };

  // Returns the cached descriptor for key, or calls opener (which returns
  // an fd, or -errno) outside the lock and caches the result.
  Lease acquire(uint32_t key, const std::function<int()>& opener);

 private:
  struct Slot {
    int fd;
    uint32_t refs;
    std::list<uint32_t>::iterator lru;  // position in lru_, front = newest
  };
  void release(uint32_t key);
  void evict_locked();

  size_t capacity_;
  std::mutex mutex_;
  std::unordered_map<uint32_t, Slot> slots_;
  std::list<uint32_t> lru_;
};

}  // namespace vdiskfs
