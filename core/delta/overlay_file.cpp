#include "core/delta/overlay_file.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

namespace vdiskfs {

OverlayFile::OverlayFile(std::shared_ptr<const Image> base, std::unique_ptr<PageStore> store)
    : base_(std::move(base)), store_(std::move(store)) {}

uint64_t OverlayFile::size() const {
  std::shared_lock lock(mutex_);
  return store_->size().size;
}

Status OverlayFile::read_base(uint64_t offset, uint8_t* buf, size_t len, uint64_t base_limit) const {
  const uint64_t visible = std::min(base_limit, base_->size());
  size_t from_base = offset < visible ? size_t(std::min<uint64_t>(len, visible - offset)) : 0;
  if (from_base) {
    const Status s = base_->read(offset, buf, from_base);
    if (!ok(s)) return s;
  }
  std::memset(buf + from_base, 0, len - from_base);
  return Status::ok;
}

Status OverlayFile::read_locked(uint64_t offset, uint8_t* buf, size_t len) const {
  const DeltaSize ds = store_->size();
  if (store_->empty()) return read_base(offset, buf, len, ds.base_limit);
  uint64_t pos = offset;
  const uint64_t end = offset + len;
  alignas(8) uint8_t page[kDeltaPageSize];
  while (pos < end) {
    const uint64_t p = pos / kDeltaPageSize;
    if (store_->has(p)) {
      const Status s = store_->read_page(p, page);
      if (!ok(s)) return s;
      const uint64_t in = pos % kDeltaPageSize;
      const uint64_t n = std::min<uint64_t>(kDeltaPageSize - in, end - pos);
      std::memcpy(buf + (pos - offset), page + in, n);
      pos += n;
      continue;
    }
    // A run of pages the delta does not hold: one read of the base.
    uint64_t run_end = (p + 1) * kDeltaPageSize;
    while (run_end < end && !store_->has(run_end / kDeltaPageSize)) run_end += kDeltaPageSize;
    run_end = std::min(run_end, end);
    const Status s = read_base(pos, buf + (pos - offset), size_t(run_end - pos), ds.base_limit);
    if (!ok(s)) return s;
    pos = run_end;
  }
  return Status::ok;
}

Status OverlayFile::read(uint64_t offset, uint8_t* buf, size_t len) const {
  std::shared_lock lock(mutex_);
  return read_locked(offset, buf, len);
}

Status OverlayFile::read_upto(uint64_t offset, uint8_t* buf, size_t len, size_t* done) const {
  std::shared_lock lock(mutex_);
  const uint64_t end = store_->size().size;
  *done = offset < end ? size_t(std::min<uint64_t>(len, end - offset)) : 0;
  return *done ? read_locked(offset, buf, *done) : Status::ok;
}

uint64_t OverlayFile::delta_bytes() const {
  std::shared_lock lock(mutex_);
  return store_->pages_held() * kDeltaPageSize;
}

std::vector<uint64_t> OverlayFile::delta_pages() const {
  std::shared_lock lock(mutex_);
  std::vector<uint64_t> pages = store_->held_pages();
  std::sort(pages.begin(), pages.end());
  return pages;
}

Status OverlayFile::write(uint64_t offset, const uint8_t* buf, size_t len) {
  if (len == 0) return Status::ok;
  std::unique_lock lock(mutex_);
  const uint64_t first = offset / kDeltaPageSize;
  const uint64_t last = (offset + len - 1) / kDeltaPageSize;
  const size_t count = size_t(last - first + 1);
  std::vector<uint8_t> data(count * kDeltaPageSize);
  // Partial first and last pages keep their current bytes around the write.
  if (offset % kDeltaPageSize != 0) {
    const Status s = read_locked(first * kDeltaPageSize, data.data(), kDeltaPageSize);
    if (!ok(s)) return s;
  }
  if ((offset + len) % kDeltaPageSize != 0 && (last != first || offset % kDeltaPageSize == 0)) {
    const Status s = read_locked(last * kDeltaPageSize, data.data() + (count - 1) * kDeltaPageSize, kDeltaPageSize);
    if (!ok(s)) return s;
  }
  std::memcpy(data.data() + (offset - first * kDeltaPageSize), buf, len);
  std::vector<uint64_t> pages(count);
  for (size_t i = 0; i < count; ++i) pages[i] = first + i;
  DeltaSize ds = store_->size();
  const bool grows = offset + len > ds.size;
  if (grows) ds.size = offset + len;
  return store_->put(pages, data.data(), grows ? &ds : nullptr);
}

Status OverlayFile::truncate(uint64_t new_size) {
  std::unique_lock lock(mutex_);
  DeltaSize ds = store_->size();
  if (new_size == ds.size) return Status::ok;
  if (new_size > ds.size) {
    ds.size = new_size;  // the new tail reads as zeros
    return store_->set_size(ds);
  }
  ds.size = new_size;
  ds.base_limit = std::min(ds.base_limit, new_size);  // hidden base bytes stay hidden
  if (new_size % kDeltaPageSize == 0) return store_->set_size(ds);
  // The page holding the new end keeps its head and loses its tail.
  const uint64_t p = new_size / kDeltaPageSize;
  std::vector<uint8_t> page(kDeltaPageSize);
  const Status s = read_locked(p * kDeltaPageSize, page.data(), kDeltaPageSize);
  if (!ok(s)) return s;
  std::memset(page.data() + new_size % kDeltaPageSize, 0, kDeltaPageSize - new_size % kDeltaPageSize);
  return store_->put({p}, page.data(), &ds);
}

bool OverlayFile::held_unchanged() const {
  const DeltaSize ds = store_->size();
  return store_->empty() && ds.size == base_->size() && ds.base_limit == base_->size();
}

void OverlayFile::restack_held(std::unique_ptr<PageStore> next, bool keep_old) {
  if (keep_old) base_ = std::make_shared<OverlayFile>(std::move(base_), std::move(store_));
  store_ = std::move(next);
}

Status OverlayFile::sync() {
  std::shared_lock lock(mutex_);
  return store_->sync();
}

}  // namespace vdiskfs
