#pragma once
// gzip (RFC 1952) streams read in place: deflate (RFC 1951) decoded with
// zlib, restart points at deflate block boundaries holding the decoder's
// bit position and its 32 KiB window (the technique of zlib's
// examples/zran.c), and at the start of each member of a multi-member file
// (`cat a.gz b.gz`, pigz -i, bgzip).
#include <memory>

#include "core/source/compressed/stream_codec.h"

namespace vdiskfs {

// The gzip codec (magic 1f 8b).
std::unique_ptr<StreamCodec> make_gzip_codec();

}  // namespace vdiskfs
