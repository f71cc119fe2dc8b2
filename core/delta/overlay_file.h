#pragma once
// An exposed file made writable: reads see the newest bytes (delta pages
// over the base Image), writes land in the delta at page granularity, and
// the file may grow or shrink. The base is never written.
#include <memory>
#include <shared_mutex>

#include "core/delta/page_store.h"
#include "core/image/image.h"

namespace vdiskfs {

class OverlayFile {
 public:
  OverlayFile(std::shared_ptr<const Image> base, std::unique_ptr<PageStore> store);

  uint64_t size() const;
  // Reads [offset, offset + len); the caller keeps it inside size().
  Status read(uint64_t offset, uint8_t* buf, size_t len) const;
  // Reads up to len bytes, stopping at the end of the file as it is now
  // (one lock: the size cannot change between the check and the read).
  Status read_clipped(uint64_t offset, uint8_t* buf, size_t len, size_t* done) const;
  Status write(uint64_t offset, const uint8_t* buf, size_t len);
  Status truncate(uint64_t size);
  Status sync();
  const PageStore& store() const { return *store_; }

 private:
  Status read_locked(uint64_t offset, uint8_t* buf, size_t len) const;
  // Base bytes of [offset, offset + len), zeros past the visible base.
  Status read_base(uint64_t offset, uint8_t* buf, size_t len, uint64_t base_limit) const;

  std::shared_ptr<const Image> base_;
  std::unique_ptr<PageStore> store_;
  mutable std::shared_mutex mutex_;  // readers share; writers exclusive
};

}  // namespace vdiskfs
