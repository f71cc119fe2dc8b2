#pragma once
// Replacement policies of the block cache (issue #16): which held blocks to
// evict when a new one comes in. A policy keeps only block ids and their
// charges (bytes counted against the bound), never data, and is not
// thread-safe: BlockCache calls it under its lock. Both policies count
// bytes, so files whose last block is short cost what they hold.
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace vdiskfs {

// The replacement policies: lru evicts the least recently read block; arc
// is Megiddo & Modha's Adaptive Replacement Cache (FAST 2003): recency
// (T1) and frequency (T2) lists with ghost lists (B1, B2) of evicted ids
// that move the target size p of T1, so a one-pass scan does not flush
// blocks read again and again.
enum class CachePolicy { lru, arc };

// The policy's name as options spell it: "lru", "arc".
std::string_view cache_policy_name(CachePolicy policy);
// Sets `policy` from its name ("lru", "arc"); false for another name.
bool parse_cache_policy(std::string_view name, CachePolicy& policy);

// One cache block: block `index` (offset index * block bytes) of the file
// with key `file_key`.
struct BlockId {
  uint64_t file_key = 0;
  uint64_t index = 0;
  bool operator==(const BlockId&) const = default;
};

// Hash of a BlockId for unordered containers.
struct BlockIdHash {
  size_t operator()(const BlockId& id) const {
    return std::hash<uint64_t>()(id.file_key * 0x9e3779b97f4a7c15ull ^ id.index);
  }
};

// What a policy decides; see the file comment.
class ReplacementPolicy {
 public:
  virtual ~ReplacementPolicy() = default;
  // A read of block `id`, which the policy holds (admitted, not evicted);
  // `reuse` when it reads again bytes read before (ARC counts only those
  // as frequency; a sequential reader going on through the block does not).
  virtual void hit(const BlockId& id, bool reuse) = 0;
  // Admits block `id` of `charge` bytes (at most the capacity), just loaded
  // and not held, and appends the held blocks it evicts to make room to
  // `evicted`, first evicted first.
  virtual void admit(const BlockId& id, uint64_t charge, std::vector<BlockId>& evicted) = 0;
  // The held blocks, least recently useful first (the order a shutdown
  // writes them to a disk tier in, so that its own LRU order follows).
  virtual void held(std::vector<BlockId>& out) const = 0;
  // Bytes of the held blocks (never above the capacity).
  virtual uint64_t held_bytes() const = 0;
};

// A policy of `policy` kind holding at most `capacity` bytes.
std::unique_ptr<ReplacementPolicy> make_replacement_policy(CachePolicy policy, uint64_t capacity);

}  // namespace vdiskfs
