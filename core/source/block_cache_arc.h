#pragma once
// The ARC replacement policy of the block cache: Megiddo & Modha, "ARC: A
// Self-Tuning, Low Overhead Replacement Cache" (FAST 2003), Fig. 4,
// counted in bytes instead of pages (c = the capacity in bytes; a list's
// size is the sum of its blocks' charges; the adaptation steps are the
// paper's ratios times the block's charge). With blocks of one size and a
// capacity a multiple of it, it is exactly the paper's ARC(c / size).
//   T1: held blocks read once since they came in (recency), MRU first
//   T2: held blocks read at least twice (frequency), MRU first
//   B1, B2: ids (no data) of blocks evicted from T1, T2: the ghost lists
//   p: the target size of T1; a read of a B1 id grows it, of a B2 id
//      shrinks it
// Invariants: |T1| + |T2| <= c, |T1| + |B1| <= c, |T1|+|T2|+|B1|+|B2| <= 2c.
// A block read once by a scan enters T1 and leaves through B1 without ever
// reaching T2, so the blocks read repeatedly, in T2, stay.
#include <list>
#include <unordered_map>

#include "core/source/block_cache_policy.h"

namespace vdiskfs {

class ArcPolicy : public ReplacementPolicy {
 public:
  // The list a block id is on.
  enum class List : uint8_t { none, t1, t2, b1, b2 };

  // Holds at most `capacity` bytes (c).
  explicit ArcPolicy(uint64_t capacity) : capacity_(capacity) {}
  void hit(const BlockId& id, bool reuse) override;
  void admit(const BlockId& id, uint64_t charge, std::vector<BlockId>& evicted) override;
  void held(std::vector<BlockId>& out) const override;
  uint64_t held_bytes() const override { return lists_[t1].bytes + lists_[t2].bytes; }

  // Where `id` is, for tests and diagnostics.
  List where(const BlockId& id) const;
  // Bytes on list `list` (not List::none).
  uint64_t bytes(List list) const { return lists_[slot(list)].bytes; }
  // The target size p of T1, bytes.
  uint64_t target() const { return target_; }

 private:
  struct Entry {
    BlockId id;
    uint64_t charge;
  };
  // One of the four lists: its entries (front: most recent) and their bytes.
  struct Ranked {
    std::list<Entry> entries;
    uint64_t bytes = 0;
  };
  enum Slot : uint8_t { t1, t2, b1, b2 };
  struct Place {
    Slot slot;
    std::list<Entry>::iterator it;
  };
  static Slot slot(List list) { return Slot(uint8_t(list) - 1); }

  // Moves `id`'s entry to the front of list `to`.
  void move_to_front(const BlockId& id, Slot to);
  // Puts a new entry at the front of list `to`.
  void push_front(const BlockId& id, uint64_t charge, Slot to);
  // Forgets the entry at `place` (its list and the index).
  void drop(const Place& place);
  // Forgets the least recent entry of list `from` (not empty); returns its id.
  BlockId drop_last(Slot from);
  // REPLACE of the paper: evicts held blocks from T1 (into B1) or T2
  // (into B2) until `charge` more bytes fit in c; `in_b2` says the block
  // coming in is a B2 id.
  void replace(uint64_t charge, bool in_b2, std::vector<BlockId>& evicted);
  // Case IV of the paper: makes room on the ghost lists for a block seen
  // nowhere; appends held blocks it drops (case A with T1 full) to `evicted`.
  void trim_for_new(uint64_t charge, std::vector<BlockId>& evicted);

  uint64_t capacity_;
  uint64_t target_ = 0;  // p
  Ranked lists_[4];
  std::unordered_map<BlockId, Place, BlockIdHash> where_;
};

}  // namespace vdiskfs
