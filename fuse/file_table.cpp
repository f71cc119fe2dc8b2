#include "fuse/file_table.h"

namespace vdiskfs {

uint64_t ExposedFile::held_bytes() const { return allocated_bytes + (writer ? writer->delta_bytes() : 0); }

std::optional<uint64_t> ExposedFile::seek(uint64_t offset, bool data) const {
  const uint64_t size = image->size();
  if (writer && (writer->delta_bytes() != 0 || size != base_size)) {
    if (offset >= size) return std::nullopt;
    return data ? offset : size;
  }
  return data ? data_map->next_data(offset, size) : data_map->next_hole(offset, size);
}

ExposedFile expose(std::string name, std::shared_ptr<const Image> base, std::shared_ptr<OverlayFile> overlay,
                   int64_t mtime_ns, uint64_t allocated_bytes) {
  const uint64_t base_size = base->size();
  auto data_map = std::make_shared<const DataMap>(base);
  ExposedFile f{std::move(name), std::move(base), overlay, mtime_ns, allocated_bytes, std::move(data_map), base_size, nullptr};
  if (overlay) f.image = std::move(overlay);
  return f;
}

int FileTable::find(const std::string& name) const {
  for (size_t i = 0; i < files_.size(); ++i)
    if (files_[i].name == name) return int(i);
  return -1;
}

}  // namespace vdiskfs
