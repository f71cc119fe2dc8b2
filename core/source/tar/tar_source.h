#pragma once
// A tar archive as a source (a compressed one decoded in place, see
// compressed/decompressed_archive.h): one pass over its headers at
// mount builds the tree and records where each member's data lies; reads
// are preads from the archive at those offsets. Paths that are absolute,
// hold "..", or lead through a symlink are refused (listed as skipped).
// If the archive changes after the mount, reads answer EIO with a log line.
#include <memory>
#include <string>
#include <vector>

#include "core/source/archive_file.h"
#include "core/source/source.h"

namespace vdiskfs {

// A directory's listing in a GNU --listed-incremental archive (TarMember::
// dumpdir), for chains (tar_chain.h).
struct TarDumpdir {
  std::string path;          // the directory, normalized ("" is the root)
  std::string listing;       // the dumpdir bytes as stored
  uint64_t header_offset;    // where its member starts in the archive
};

class TarSource final : public Source {
 public:
  // Throws Error for a missing, compressed, corrupt or truncated archive.
  static std::unique_ptr<TarSource> open(const std::string& path, const ScanOptions& options,
                                         ScanReport& report);
  // The same for an archive anywhere (a file on a share).
  static std::unique_ptr<TarSource> open(std::unique_ptr<ArchiveFile> file, const ScanOptions& options,
                                         ScanReport& report);
  ~TarSource() override;

  std::string describe() const override { return "tar archive " + path_; }
  std::vector<std::pair<std::string, uint64_t>> stats() const override { return file_->stats(); }
  const Tree& tree() const override { return tree_; }
  Status read_file(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const override;
  // Files by their data's offset in the archive: a disk read front to back
  // then reads the archive front to back.
  void data_order(std::vector<uint32_t>& files) const override;
  // The dumpdirs of the archive, in archive order (empty for an archive
  // not made by --listed-incremental).
  const std::vector<TarDumpdir>& dumpdirs() const { return dumpdirs_; }

 private:
  explicit TarSource(std::unique_ptr<ArchiveFile> file);
  Status read_member(uint32_t node, uint64_t offset, uint8_t* buf, size_t len) const;

  std::unique_ptr<ArchiveFile> file_;
  std::string path_;  // file_->describe()
  Tree tree_;
  std::vector<uint64_t> data_offset_;     // by node: archive offset of its data
  std::vector<uint64_t> segment_offset_;  // by Tree::segments entry: archive offset
  std::vector<TarDumpdir> dumpdirs_;
};

}  // namespace vdiskfs
