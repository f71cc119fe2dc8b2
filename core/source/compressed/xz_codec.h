#pragma once
// xz (the .xz file format 1.1.0, tukaani.org/xz/xz-file-format.txt) streams
// read in place with liblzma: restart points at block starts (section 3).
// Multi-threaded `xz -T0` (and `xz --block-size`) writes a block per few
// MiB to a few tens of MiB of input; a single-threaded `xz` of a large file
// is one block, without a restart point inside. Concatenated streams and
// stream padding (section 2.2) are read as one stream.
#include <memory>

#include "core/source/compressed/stream_codec.h"

namespace vdiskfs {

// The xz codec (magic fd 37 7a 58 5a 00).
std::unique_ptr<StreamCodec> make_xz_codec();

}  // namespace vdiskfs
