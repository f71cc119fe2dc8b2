#pragma once
// Walks the bytes of a tar archive (POSIX ustar, pax, GNU) header by
// header without reading member data, and reports where each member's
// data lies in the archive, so that files can be read in place later.
// Understands pax extended headers (long names, nanosecond times, large
// ids and sizes, SCHILY.xattr.*, LIBARCHIVE.xattr.*, SCHILY.acl.access and
// .default, SUN.holesdata), GNU long names and links, GNU sparse members (old GNU and pax
// 0.0, 0.1, 1.0), base-256 numbers, and V7 archives. Where GNU tar and
// bsdtar (libarchive) differ, the choice is said where it is made.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/source/archive_file.h"
#include "core/source/tree.h"

namespace vdiskfs {

struct TarMember {
  std::string path;         // as stored (not yet checked)
  Node attrs;               // mode with type bits, owners, times, size (the file's size)
  bool hard_link = false;   // link_target names an earlier member
  std::string link_target;  // symlink target or hard-link target
  bool sparse = false;
  std::vector<DataSegment> segments;  // sparse: data ranges of the file, in order
  // Sparse with the whole file stored, holes included (Solaris
  // SUN.holesdata): a segment's bytes lie at data_offset + its offset, not
  // one segment after another.
  bool stored_whole = false;
  std::vector<std::pair<std::string, std::string>> xattrs;
  uint64_t header_offset = 0;  // where the member's first header starts
  uint64_t data_offset = 0;    // archive offset of the first stored data byte
  uint64_t stored_size = 0;    // bytes stored in the archive
  // A directory of a GNU --listed-incremental archive: its listing, NUL-
  // terminated entries each led by a control letter (Y, N, D, R, T, X;
  // GNU tar manual, "Dumpdir"), an empty entry last.
  bool has_dumpdir = false;
  std::string dumpdir;
};

struct TarCallbacks {
  std::function<void(TarMember&)> member;
  // A member that is kept out ("volume label"), with why.
  std::function<void(const std::string& path, const std::string& why)> skipped;
  // A member kept, but read in a way worth saying (an unknown type read as
  // a regular file, an ACL record that cannot be used, a pax hard link's
  // data skipped), with what; under --strict the source fails on it.
  std::function<void(const std::string& path, const std::string& what)> warning;
};

// Reads the archive `file` (named `name` in messages). Throws Error naming
// the offset for a corrupt or truncated archive, and a clear error for a
// compressed one.
void read_tar(const ArchiveFile& file, const std::string& name, const TarCallbacks& callbacks);

}  // namespace vdiskfs
