#include "core/source/block_cache_policy.h"

#include "core/source/block_cache_arc.h"
#include "core/source/block_cache_lru.h"

namespace vdiskfs {

std::string_view cache_policy_name(CachePolicy policy) { return policy == CachePolicy::lru ? "lru" : "arc"; }

bool parse_cache_policy(std::string_view name, CachePolicy& policy) {
  for (CachePolicy p : {CachePolicy::lru, CachePolicy::arc}) {
    if (name == cache_policy_name(p)) {
      policy = p;
      return true;
    }
  }
  return false;
}

std::unique_ptr<ReplacementPolicy> make_replacement_policy(CachePolicy policy, uint64_t capacity) {
  if (policy == CachePolicy::lru) return std::make_unique<LruPolicy>(capacity);
  return std::make_unique<ArcPolicy>(capacity);
}

}  // namespace vdiskfs
