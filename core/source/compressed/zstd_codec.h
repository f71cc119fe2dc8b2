#pragma once
// zstd (RFC 8878) streams read in place with libzstd: restart points at
// frame starts. `pzstd` and `zstd -T0 --block-size` (and the seekable
// format) write many frames, with skippable frames between (skipped); a
// plain `zstd` of a large file is one frame, without a restart point inside.
#include <memory>

#include "core/source/compressed/stream_codec.h"

namespace vdiskfs {

// The zstd codec (magic 28 b5 2f fd).
std::unique_ptr<StreamCodec> make_zstd_codec();

}  // namespace vdiskfs
