#pragma once
// The bytes of an archive file, wherever it lies: a local file, or a file
// on a share (nfs://, smb://). Archive sources (tar) read through it.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/image/status.h"
#include "core/source/timestamp.h"

namespace vdiskfs {

class ArchiveFile {
 public:
  virtual ~ArchiveFile() = default;
  // The path or URL, for messages.
  virtual std::string describe() const = 0;
  // Its size in bytes and its mtime, as when it was opened.
  virtual uint64_t size() const = 0;
  virtual Timestamp mtime() const = 0;
  // Whether the file holds at least `end` bytes. A compressed archive read
  // in place knows its size only once its first pass reached the end: it
  // decodes that far (size() decodes to the end), so a reader going front to
  // back decodes the stream once. Throws Error as the first pass does.
  virtual bool has(uint64_t end) const { return end <= size(); }
  // Why the readable bytes end at size() before the file's real end: a
  // message naming the file, the (compressed) offset where it is corrupt or
  // cut, and the offset from which reads give EIO; nullopt for a whole file.
  // A compressed stream damaged in its first pass (decompressed_archive.h).
  virtual std::optional<std::string> damage() const { return std::nullopt; }
  // Reads exactly `len` bytes at `offset` (bytes). Status::io_error after
  // a log line naming the file, the offset and why; Status::source_changed
  // when the file ended early or changed since it was opened (logged once).
  virtual Status read(uint64_t offset, uint8_t* buf, size_t len) const = 0;
  // Whether the file still has the size and mtime it was opened with; logs
  // once (naming it) when not.
  virtual bool unchanged() const = 0;
  // Counters of its reads for `vdiskfs stats` (a share's block cache).
  virtual std::vector<std::pair<std::string, uint64_t>> stats() const { return {}; }
};

// Opens the local file `path` (without moving its atime where allowed);
// messages call it "<kind> <path>" ("tar archive /srv/web01.tar"). Throws
// Error for a missing file, or one that is not a regular file.
std::unique_ptr<ArchiveFile> open_local_archive(const std::string& path, const std::string& kind);

}  // namespace vdiskfs
