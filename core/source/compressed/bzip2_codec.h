#pragma once
// bzip2 streams read in place with libbz2: restart points at block starts
// (every 100-900 kB of input). bzip2 blocks are bit-aligned and libbz2
// decodes only whole streams, so each block is decoded as a stream of its
// own, as bzip2recover cuts them: "BZh" and the level, the block's bits
// from its 48-bit magic 0x314159265359 up to the next block's (or the
// end-of-stream magic 0x177245385090), then an end-of-stream marker whose
// combined CRC is the block's own. libbz2 checks each block's CRC; the
// stream's combined CRC is checked too when decoding from the start.
// pbzip2's concatenated streams are one stream here. A block's data that
// holds the 48-bit magic by chance (about once in 2^48 bit positions)
// would be cut there: that block then fails its CRC and the archive is
// refused naming the offset, never read wrong. (bzip2 file format:
// Seward's bzip2 1.0.8 sources, compress.c and decompress.c.)
#include <memory>

#include "core/source/compressed/stream_codec.h"

namespace vdiskfs {

// The bzip2 codec (magic "BZh" and a level digit 1-9).
std::unique_ptr<StreamCodec> make_bzip2_codec();

}  // namespace vdiskfs
