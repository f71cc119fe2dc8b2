#pragma once
// A compressed archive read in place: an ArchiveFile presenting the
// uncompressed bytes of a gzip, zstd, xz or bzip2 file (issue 17).
//
// The first pass decodes the stream once, front to back, as the tar scan
// reads it (the scan's reads advance it), recording restart points at
// least kRestartSpacing bytes of output apart where the format allows and a
// checksum of each page of output; its size is known once it reached the end
// (known_size() is empty before; size() finishes the pass). Later reads
// start a decoder at the nearest restart point at or before the page they
// want, keep that decoder for the next page (a sequential reader decodes
// each page once), and keep decoded pages in a bounded LRU cache.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/source/archive_file.h"
#include "core/source/compressed/stream_codec.h"
#include "core/source/source.h"

namespace vdiskfs {

// If `file` starts with the magic of a compressed format this build reads,
// the file decompressed in place, else `file` itself. Options:
// options.restart_limit (bytes of output: restart points further apart
// make the first pass fail with an Error saying how to re-compress) and
// options.remote.cache_dir (--cache-dir: then such a stream is decompressed
// once into an unlinked file there instead, logged as a copy). Throws Error
// naming the archive when its first bytes cannot be read.
std::unique_ptr<ArchiveFile> open_decompressed(std::unique_ptr<ArchiveFile> file, const ScanOptions& options);

// What the first pass over a compressed stream found: kept in an index
// (core/source/tar/tar_index.h) so that a later mount needs no first pass.
struct StreamIndex {
  std::string codec;                 // StreamCodec::name()
  uint64_t size = 0;                 // bytes of output
  std::vector<RestartPoint> points;  // by out_offset, the first {0, 0, {}}
  std::vector<uint32_t> sums;        // low 32 bits of the XXH3-64 of each 256 KiB page of output
};

// `file` decompressed in place with the first pass's results given: no
// first pass. nullptr (and `file` untouched) when the file is not
// compressed with kept.codec or the checksum table does not fit kept.size.
std::unique_ptr<ArchiveFile> open_decompressed_kept(std::unique_ptr<ArchiveFile>& file, const StreamIndex& kept,
                                                    const ScanOptions& options);
// The first pass's results of `file` when it is a compressed archive whose
// first pass reached the end without a copy (--cache-dir); else nullopt.
std::optional<StreamIndex> stream_index_of(const ArchiveFile& file);

}  // namespace vdiskfs
