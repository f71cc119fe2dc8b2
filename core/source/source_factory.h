#pragma once
// The one place that turns what the user typed for SOURCE into a Source, so
// that the command line never names a source class. SOURCE is an nfs:// or
// smb:// URL, or a path: a regular file is a tar archive (plain, or gzip,
// zstd or xz compressed), anything else a directory; later a.tar+b.tar
// becomes a branch here.
#include <memory>
#include <string>

#include "core/source/source.h"

namespace vdiskfs {

// What SOURCE may be today, for the command line's help ("a directory, a
// tar archive ..."); it grows with the factory.
std::string source_kinds_help();

// The canonical name of the source the user typed: an absolute path
// without symbolic links. Names the mount and its delta. Throws Error
// "source X does not exist" or "cannot resolve source X: reason".
std::string resolve_source(const std::string& typed);

// Opens and scans the source the user typed (resolved as resolve_source
// does): a tar archive for a regular file, else a directory. What could
// not be read goes to `report`. Throws Error as resolve_source does, and
// as the source does when it cannot be scanned.
std::unique_ptr<Source> open_source(const std::string& typed, const ScanOptions& options, ScanReport& report);

// The base name of the files a mount of the source exposes when the user
// names none: the last path component of `canonical_source` without the
// archive suffix ("/backups/web01.tar" -> "web01"), "root" for "/".
std::string source_default_name(const std::string& canonical_source);

// The archives listed in a chain file (--chain): one path a line, relative
// to the file's folder, blank lines and '#' comments skipped; returns them
// joined by '+' (a chain as SOURCE names it). Throws Error naming the file
// and line (unreadable, empty, a name holding '+').
std::string read_chain_file(const std::string& path);

}  // namespace vdiskfs
