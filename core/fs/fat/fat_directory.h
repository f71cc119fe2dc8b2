#pragma once
// The directory region: every directory's clusters, computed from the plan
// on each read instead of being stored (a directory takes a whole cluster,
// up to 32 KiB, however few names it holds). A directory's 32-byte slots
// are "." and ".." (the root instead: the volume-label entry, if any),
// then for each name its long-name entries and its short entry; zeros
// after the last mark the end. Short names are assigned on a directory's
// first read and kept: the mount is ready without them.
#include <memory>
#include <mutex>
#include <vector>

#include "core/fs/fat/fat_plan.h"
#include "core/image/image.h"

namespace vdiskfs::fat {

class DirectoryRegionImage final : public Image {
 public:
  // Serves clusters 2 .. 2 + (the directories' clusters) of `plan`.
  explicit DirectoryRegionImage(std::shared_ptr<const Plan> plan);

  uint64_t size() const override { return size_; }
  Status read(uint64_t offset, uint8_t* buf, size_t len) const override;

 private:
  // Writes bytes [from, to) of directory plan.dirs[dir] (offsets inside
  // it) to `out`.
  void read_directory(size_t dir, uint64_t from, uint64_t to, uint8_t* out) const;

  // The short names of the entries of plan.dirs[dir], in order: assigned
  // on the first call for that directory (any thread), then kept. Cannot
  // fail: a directory holds under 65,536 entries, and every basis has
  // 999,999 ~N tails.
  const std::vector<ShortName>& short_names(size_t dir) const;

  std::shared_ptr<const Plan> plan_;
  uint64_t size_;
  mutable std::unique_ptr<std::once_flag[]> named_;            // per directory
  mutable std::vector<std::vector<ShortName>> short_names_;  // per directory, once named
};

// Writes the slots of entry `e`, whose short name is `short_name` (its
// long-name entries, then its short entry), to `out`; returns how many.
uint32_t write_entry_slots(const Plan& plan, const FatEntry& e, const ShortName& short_name, uint8_t* out);

}  // namespace vdiskfs::fat
