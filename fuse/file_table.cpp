#include "fuse/file_table.h"

namespace vdiskfs {

uint64_t ExposedFile::held_bytes() const { return allocated_bytes + (writer ? writer->delta_bytes() : 0); }

ExposedFile expose(std::string name, std::shared_ptr<const Image> base, std::shared_ptr<OverlayFile> overlay,
                   int64_t mtime_ns, uint64_t allocated_bytes) {
  ExposedFile f{std::move(name), std::move(base), overlay, mtime_ns, allocated_bytes};
  if (overlay) f.image = std::move(overlay);
  return f;
}

int FileTable::find(const std::string& name) const {
  for (size_t i = 0; i < files_.size(); ++i)
    if (files_[i].name == name) return int(i);
  return -1;
}

}  // namespace vdiskfs
