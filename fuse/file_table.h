#pragma once
// The files a mount exposes (<name>.img, .vmdk, ...): a flat directory of
// Images, each made writable by its own delta. Knows nothing of ext4 or
// container formats.
#include <memory>
#include <string>
#include <vector>

#include "core/delta/overlay_file.h"
#include "core/image/image.h"

namespace vdiskfs {

struct ExposedFile {
  std::string name;
  std::shared_ptr<const Image> image;       // the base, read-only
  std::shared_ptr<OverlayFile> overlay;     // writes; null on --read-only
  int64_t mtime_ns = 0;
  uint64_t allocated_bytes = 0;  // reported as st_blocks
};

class FileTable {
 public:
  void add(ExposedFile file) { files_.push_back(std::move(file)); }
  // Index of the file named `name`, or -1.
  int find(const std::string& name) const;
  const ExposedFile& at(size_t index) const { return files_[index]; }
  size_t size() const { return files_.size(); }

 private:
  std::vector<ExposedFile> files_;
};

}  // namespace vdiskfs
