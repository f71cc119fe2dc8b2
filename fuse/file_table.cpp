#include "fuse/file_table.h"

namespace vdiskfs {

int FileTable::find(const std::string& name) const {
  for (size_t i = 0; i < files_.size(); ++i)
    if (files_[i].name == name) return int(i);
  return -1;
}

}  // namespace vdiskfs
