#pragma once
// The LRU replacement policy of the block cache: one list of held blocks,
// most recently read first; a new block evicts from the tail until it fits.
#include <list>
#include <unordered_map>

#include "core/source/block_cache_policy.h"

namespace vdiskfs {

class LruPolicy : public ReplacementPolicy {
 public:
  // Holds at most `capacity` bytes.
  explicit LruPolicy(uint64_t capacity) : capacity_(capacity) {}
  void hit(const BlockId& id, bool reuse) override;
  void admit(const BlockId& id, uint64_t charge, std::vector<BlockId>& evicted) override;
  void held(std::vector<BlockId>& out) const override;
  uint64_t held_bytes() const override { return bytes_; }

 private:
  struct Entry {
    BlockId id;
    uint64_t charge;
  };
  uint64_t capacity_;
  uint64_t bytes_ = 0;
  std::list<Entry> order_;  // front: most recently read
  std::unordered_map<BlockId, std::list<Entry>::iterator, BlockIdHash> where_;
};

}  // namespace vdiskfs
