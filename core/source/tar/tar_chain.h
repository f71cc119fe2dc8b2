#pragma once
// A chain of GNU tar --listed-incremental archives (a full backup, then
// incrementals) as one source: the tree as of one point in time, as
// extracting the archives in order with `tar --listed-incremental=/dev/null
// -x` leaves it (GNU tar manual, "Incremental Dumps" and "Dumpdir"). Each
// archive's directories carry a dumpdir, the directory's listing at that
// backup: names it does not list are gone (deleted, or renamed: R/T
// records move a directory first); 'N' names are unchanged and keep the
// data of the archive that held them; the archive's own members replace
// what was there. Each file reads from the archive that holds its latest
// version; nothing is copied.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/source/source.h"
#include "core/source/tar/tar_source.h"

namespace vdiskfs {

class TarChain final : public Source {
 public:
  // Opens `archives` (paths, the full backup first, then each incremental
  // in order) and builds the tree as of archive `at` (1-based; 0: the
  // last). Throws Error naming the archive (and offset) for an archive not
  // made by --listed-incremental, a first archive that is not a full
  // (level 0) one, an entry listed as unchanged that no earlier archive
  // holds or a rename of a directory that none holds (a missing level or
  // the wrong order), and `at` beyond the chain.
  static std::unique_ptr<TarChain> open(const std::vector<std::string>& archives, uint32_t at,
                                        const ScanOptions& options, ScanReport& report);

  std::string describe() const override { return describe_; }
  const Tree& tree() const override { return tree_; }
  Status read_file(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const override;
  // Archive by archive, each in its own data order.
  void data_order(std::vector<uint32_t>& files) const override;
  // Every archive of the chain (also those after the point in time shown).
  std::vector<PointInTime> points_in_time() const override { return points_; }

 private:
  TarChain() = default;

  std::vector<std::unique_ptr<TarSource>> archives_;
  std::vector<PointInTime> points_;
  uint32_t at_ = 0;
  std::string describe_;
  Tree tree_;
  std::vector<uint64_t> origin_;  // by node: archive index << 32 | the archive's node
};

// A chain as SOURCE names it: archive paths joined by '+'
// ("full.tar+incr1.tar"). Splits `typed` when it names no existing file
// and has a '+'; else returns it alone.
std::vector<std::string> split_chain(const std::string& typed);
}  // namespace vdiskfs
