#pragma once
// An exposed file made writable. Its read side is an Image: the newest
// bytes, delta pages over the base Image. Its write side lands writes in the
// delta at page granularity and lets the file grow or shrink. The base is
// never written.
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <vector>

#include "core/delta/page_store.h"
#include "core/image/image.h"

namespace vdiskfs {

class OverlayFile final : public Image {
 public:
  OverlayFile(std::shared_ptr<const Image> base, std::unique_ptr<PageStore> store);

  // --- read side (Image) ---
  // The file's size in bytes now. Unlike other Images it changes with
  // write() and truncate().
  uint64_t size() const override;
  // Fills buf with [offset, offset + len) as the file is now. Bytes past the
  // current end (the file shrank after the caller read size()) read as
  // zeros. Errors: io_error when the delta cannot be read.
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override;
  // Image::read_upto with the size and the bytes read under one lock.
  Status read_upto(uint64_t offset, uint8_t* buf, size_t len, size_t* done) const override;
  // Bytes the delta holds: kDeltaPageSize per page written and not cut off
  // by a truncation since.
  uint64_t delta_bytes() const;
  // The pages (kDeltaPageSize bytes each) the delta holds, sorted.
  std::vector<uint64_t> delta_pages() const;

  // --- write side ---
  // Writes [offset, offset + len), growing the file when it ends past the
  // end. Errors: no_space, io_error (the file stays as it was).
  Status write(uint64_t offset, const uint8_t* buf, size_t len);
  // Sets the size in bytes: a shrink hides the cut base bytes for good, a
  // growth reads as zeros. Errors: no_space, io_error.
  Status truncate(uint64_t size);
  // Makes everything written so far durable. Errors: no_space, io_error.
  Status sync();
  // The delta, for inspection (tests); not locked.
  const PageStore& store() const { return *store_; }

  // --- freezing (a clone of a served disk) ---
  // Holds off every read and write of the file while the lock lives; the
  // members below need it held.
  std::unique_lock<std::shared_mutex> hold() { return std::unique_lock(mutex_); }
  // The delta under hold(), to sync it.
  PageStore& held_store() { return *store_; }
  // True under hold() when the delta changes nothing: no page, and the
  // size and visible base are the base's.
  bool held_unchanged() const;
  // Under hold(): `next` takes the writes from now on, over the current
  // delta kept as a read-only layer (`keep_old`), or over the base alone
  // (the current delta held nothing).
  void restack_held(std::unique_ptr<PageStore> next, bool keep_old);

 private:
  Status read_locked(uint64_t offset, uint8_t* buf, size_t len) const;
  // Base bytes of [offset, offset + len), zeros past the visible base.
  Status read_base(uint64_t offset, uint8_t* buf, size_t len, uint64_t base_limit) const;

  std::shared_ptr<const Image> base_;
  std::unique_ptr<PageStore> store_;
  mutable std::shared_mutex mutex_;  // readers share; writers exclusive
};

}  // namespace vdiskfs
