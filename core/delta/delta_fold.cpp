#include "core/delta/delta_fold.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/delta/delta_log.h"
#include "core/delta/delta_set.h"
#include "core/image/error.h"

namespace vdiskfs {
namespace {

constexpr size_t kPagesPerPut = 256;  // 1 MiB a record batch

// Copies every page and the size of `from` into the new delta at `path`.
uint64_t copy_delta(const DeltaLog& from, const std::string& path, const DeltaHeader& header) {
  unlink(path.c_str());  // a copy left by an earlier, interrupted fold
  std::unique_ptr<DeltaLog> to = DeltaLog::create(path, header);
  std::vector<uint64_t> pages = from.held_pages();
  std::sort(pages.begin(), pages.end());
  std::vector<uint8_t> data(kPagesPerPut * kDeltaPageSize);
  for (size_t i = 0; i < pages.size(); i += kPagesPerPut) {
    const std::vector<uint64_t> batch(pages.begin() + i, pages.begin() + std::min(pages.size(), i + kPagesPerPut));
    for (size_t k = 0; k < batch.size(); ++k)
      if (from.read_page(batch[k], data.data() + k * kDeltaPageSize) != Status::ok)
        fail("cannot read page {} of delta {}", batch[k], header.base_identity);
    if (to->put(batch, data.data(), nullptr) != Status::ok) fail("cannot write {} (disk full?)", path);
  }
  const DeltaSize size = from.size();
  if (to->set_size(size) != Status::ok || to->sync() != Status::ok) fail("cannot write {} (disk full?)", path);
  return uint64_t(pages.size()) * kDeltaPageSize;
}

}  // namespace

uint64_t fold_deltas(const std::string& from_dir, const std::string& from_name, const std::string& to_dir,
                     const std::string& to_name, const std::string& identity_hex) {
  std::filesystem::create_directories(to_dir);
  discard_deltas(to_dir);
  uint64_t copied = 0;
  for (const std::string& path : delta_files(from_dir)) {
    const std::string file = std::filesystem::path(path).filename().string();
    if (file.rfind(from_name, 0) != 0) fail("{} is not a delta of disk {}", path, from_name);
    const std::string exposed = to_name + file.substr(from_name.size(), file.size() - from_name.size() - 6);
    const std::unique_ptr<DeltaLog> from = DeltaLog::open(path);
    DeltaHeader header = from->header();
    header.base_identity = delta_base_identity(identity_hex, exposed, header.base_size);
    const std::string target = to_dir + "/" + exposed + ".delta";
    copied += copy_delta(*from, target + ".fold", header);
    if (rename((target + ".fold").c_str(), target.c_str()) != 0)
      fail("cannot rename {}.fold to {}: {}", target, target, strerror(errno));
  }
  std::filesystem::copy_file(manifest_path(from_dir), manifest_path(to_dir),
                             std::filesystem::copy_options::overwrite_existing);
  return copied;
}

}  // namespace vdiskfs
