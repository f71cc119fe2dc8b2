#include "core/source/block_cache_lru.h"

namespace vdiskfs {

void LruPolicy::hit(const BlockId& id, bool /*reuse*/) {
  auto it = where_.find(id);
  if (it != where_.end()) order_.splice(order_.begin(), order_, it->second);
}

void LruPolicy::admit(const BlockId& id, uint64_t charge, std::vector<BlockId>& evicted) {
  while (!order_.empty() && bytes_ + charge > capacity_) {
    const Entry& last = order_.back();
    evicted.push_back(last.id);
    bytes_ -= last.charge;
    where_.erase(last.id);
    order_.pop_back();
  }
  order_.push_front(Entry{id, charge});
  where_[id] = order_.begin();
  bytes_ += charge;
}

void LruPolicy::held(std::vector<BlockId>& out) const {
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) out.push_back(it->id);
}

}  // namespace vdiskfs
