#include "core/delta/page_store.h"

#include <cstring>

namespace vdiskfs {

Status MemoryPageStore::read_page(uint64_t page, uint8_t* out) const {
  std::memcpy(out, pages_.at(page)->data(), kDeltaPageSize);
  return Status::ok;
}

Status MemoryPageStore::put(const std::vector<uint64_t>& pages, const uint8_t* data,
                            const DeltaSize* new_size) {
  for (size_t i = 0; i < pages.size(); ++i) {
    auto& slot = pages_[pages[i]];
    if (!slot) slot = std::make_unique<std::array<uint8_t, kDeltaPageSize>>();
    std::memcpy(slot->data(), data + i * kDeltaPageSize, kDeltaPageSize);
  }
  if (new_size) return set_size(*new_size);
  return Status::ok;
}

std::vector<uint64_t> MemoryPageStore::held_pages() const {
  std::vector<uint64_t> out;
  out.reserve(pages_.size());
  for (const auto& [page, data] : pages_) out.push_back(page);
  return out;
}

Status MemoryPageStore::set_size(const DeltaSize& s) {
  const uint64_t keep = (s.size + kDeltaPageSize - 1) / kDeltaPageSize;
  for (auto it = pages_.begin(); it != pages_.end();)
    it = it->first >= keep ? pages_.erase(it) : std::next(it);
  size_ = s;
  return Status::ok;
}

}  // namespace vdiskfs
