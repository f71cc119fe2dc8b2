#pragma once
// The files a mount exposes (<name>.img, .vmdk, ...): a flat directory of
// Images, each made writable by its own delta. Knows nothing of ext4 or
// container formats.
#include <memory>
#include <string>
#include <vector>

#include "core/delta/file_tap.h"
#include "core/delta/overlay_file.h"
#include "core/image/image.h"
#include "fuse/data_map.h"

namespace vdiskfs {

struct ExposedFile {
  std::string name;
  // What reads and getattr see: the overlay when the mount has a delta,
  // else the base Image itself.
  std::shared_ptr<const Image> image;
  // The write side (the same overlay); null on --read-only, where writes
  // get EROFS.
  std::shared_ptr<OverlayFile> writer;
  int64_t mtime_ns = 0;
  // Bytes the base container allocates (a sparse format only its data
  // units); reported as st_blocks.
  uint64_t allocated_bytes = 0;
  // The base Image's data and holes, for SEEK_DATA and SEEK_HOLE.
  std::shared_ptr<const DataMap> data_map;
  uint64_t base_size = 0;  // bytes
  // Watches the file's opens, reads and stored writes (a restore); null: none.
  std::shared_ptr<FileTap> tap;

  // Bytes the file really holds: the base's allocated bytes plus the pages
  // written to its delta.
  uint64_t held_bytes() const;
  // lseek's SEEK_DATA (`data` true) or SEEK_HOLE from `offset` (bytes):
  // the base's map while nothing was written to the delta and the size is
  // the base's; once written, the whole file counts as data (always right,
  // only slower for readers that skip holes). nullopt: ENXIO.
  std::optional<uint64_t> seek(uint64_t offset, bool data) const;
};

// An exposed file serving `base`, or, when `overlay` is given, that overlay
// over it (reads and writes).
ExposedFile expose(std::string name, std::shared_ptr<const Image> base, std::shared_ptr<OverlayFile> overlay,
                   int64_t mtime_ns, uint64_t allocated_bytes);

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
