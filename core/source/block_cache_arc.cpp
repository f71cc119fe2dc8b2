#include "core/source/block_cache_arc.h"

#include <algorithm>

namespace vdiskfs {

void ArcPolicy::hit(const BlockId& id, bool reuse) {
  auto it = where_.find(id);
  if (it == where_.end() || (it->second.slot != t1 && it->second.slot != t2)) return;
  // Case I on a re-use; else the same use going on: recency only.
  move_to_front(id, reuse ? t2 : it->second.slot);
}

void ArcPolicy::admit(const BlockId& id, uint64_t charge, std::vector<BlockId>& evicted) {
  auto it = where_.find(id);
  if (it == where_.end()) {  // case IV
    trim_for_new(charge, evicted);
    replace(charge, false, evicted);
    push_front(id, charge, t1);
    return;
  }
  const Slot ghost = it->second.slot;
  if (ghost == t1 || ghost == t2) {  // already held: a read
    hit(id, true);
    return;
  }
  // Cases II (a B1 id: recency was evicted too soon, grow p) and III (a B2
  // id: frequency was, shrink p), by the ratio of the ghost lists' sizes.
  const uint64_t mine = lists_[ghost].bytes, other = lists_[ghost == b1 ? b2 : b1].bytes;
  const double ratio = mine >= other ? 1.0 : double(other) / double(mine);
  const uint64_t delta = std::min<uint64_t>(capacity_, uint64_t(ratio * double(charge)));
  if (ghost == b1) {
    target_ = std::min(capacity_, target_ + delta);
  } else {
    target_ = delta > target_ ? 0 : target_ - delta;
  }
  drop(it->second);
  replace(charge, ghost == b2, evicted);
  push_front(id, charge, t2);
}

void ArcPolicy::trim_for_new(uint64_t charge, std::vector<BlockId>& evicted) {
  const Ranked &l_t1 = lists_[t1], &l_b1 = lists_[b1], &l_t2 = lists_[t2], &l_b2 = lists_[b2];
  if (l_t1.bytes + l_b1.bytes + charge > capacity_) {  // case A: L1 is full
    while (!l_b1.entries.empty() && l_t1.bytes + l_b1.bytes + charge > capacity_) drop_last(b1);
    // T1 alone fills c: its oldest blocks leave without a ghost.
    while (l_t1.bytes + charge > capacity_) evicted.push_back(drop_last(t1));
  }
  // Case B (and A, when blocks differ in size): keep the four lists within
  // 2c. With L1 + charge <= c and T2 <= c, dropping B2 ids is enough.
  while (!l_b2.entries.empty() && l_t1.bytes + l_t2.bytes + l_b1.bytes + l_b2.bytes + charge > 2 * capacity_) {
    drop_last(b2);
  }
}

void ArcPolicy::replace(uint64_t charge, bool in_b2, std::vector<BlockId>& evicted) {
  const Ranked &l_t1 = lists_[t1], &l_t2 = lists_[t2];
  while (l_t1.bytes + l_t2.bytes + charge > capacity_) {
    bool from_t1 = !l_t1.entries.empty() && (l_t1.bytes > target_ || (in_b2 && l_t1.bytes >= target_));
    if (l_t2.entries.empty()) from_t1 = true;
    const Slot from = from_t1 ? t1 : t2;
    const Entry last = lists_[from].entries.back();
    move_to_front(last.id, from_t1 ? b1 : b2);
    evicted.push_back(last.id);
  }
}

void ArcPolicy::held(std::vector<BlockId>& out) const {
  for (Slot s : {t1, t2}) {
    for (auto it = lists_[s].entries.rbegin(); it != lists_[s].entries.rend(); ++it) out.push_back(it->id);
  }
}

ArcPolicy::List ArcPolicy::where(const BlockId& id) const {
  auto it = where_.find(id);
  return it == where_.end() ? List::none : List(uint8_t(it->second.slot) + 1);
}

void ArcPolicy::move_to_front(const BlockId& id, Slot to) {
  Place& place = where_.at(id);
  Ranked &from = lists_[place.slot], &dest = lists_[to];
  from.bytes -= place.it->charge;
  dest.bytes += place.it->charge;
  dest.entries.splice(dest.entries.begin(), from.entries, place.it);
  place.slot = to;
}

void ArcPolicy::push_front(const BlockId& id, uint64_t charge, Slot to) {
  Ranked& dest = lists_[to];
  dest.entries.push_front(Entry{id, charge});
  dest.bytes += charge;
  where_[id] = Place{to, dest.entries.begin()};
}

void ArcPolicy::drop(const Place& place) {
  Ranked& from = lists_[place.slot];
  from.bytes -= place.it->charge;
  const BlockId id = place.it->id;
  from.entries.erase(place.it);
  where_.erase(id);
}

BlockId ArcPolicy::drop_last(Slot from) {
  const BlockId id = lists_[from].entries.back().id;
  drop(where_.at(id));
  return id;
}

}  // namespace vdiskfs
