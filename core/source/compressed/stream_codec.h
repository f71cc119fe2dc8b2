#pragma once
// The codec interface of compressed archives read in place (gzip, zstd, xz,
// bzip2). A codec decodes one compressed stream front to back, and can
// start again at a restart point: a place in the stream where decoding can
// begin without what lies before it (a deflate block boundary with its
// 32 KiB window, a zstd frame, an xz block, a bzip2 block). The first pass
// over an archive decodes it once from offset 0, collecting restart points
// as it goes; a later read starts a decoder at the nearest restart point at
// or before the offset it wants (see decompressed_archive.h).
//
// To add a codec (e.g. xz_codec.{h,cpp}): derive from StreamCodec and
// StreamDecoder, declare a factory `std::unique_ptr<StreamCodec>
// make_xz_codec();` in its header, and add one line to the table in
// stream_codec.cpp (detect_codec) that matches its magic.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/source/archive_file.h"

namespace vdiskfs {

// A place where decoding can start: the output offset (bytes of
// uncompressed data before it), the compressed offset of the first input
// byte the decoder needs, and codec-specific state. `state` is empty where
// the format restarts from nothing (a gzip member's header, a zstd frame,
// an xz block, a bzip2 block with its bit offset folded in however the
// codec likes). gzip keeps there the number of bits of the byte before
// `in_offset` still to be read and the last 32 KiB of output (the window).
// The point {0, 0, {}} is the start of the stream for every codec.
struct RestartPoint {
  uint64_t out_offset = 0;
  uint64_t in_offset = 0;
  std::vector<uint8_t> state;
};

// How much of the output decoded before a CorruptStream may be wrong:
// `since_restart_point` (the bytes since the last restart point were not
// checked yet), `none` (the input ends early, or what follows a checked
// member, stream, block or frame is not one: what was decoded is right),
// `since_unit` (everything since CorruptStream::unit_out: the start of the
// xz block, zstd frame, bzip2 block or gzip member whose check failed or
// whose data does not decode).
enum class Suspect { since_restart_point, none, since_unit };

// Thrown by StreamDecoder::read on corrupt or truncated input. `what()` is
// a whole message naming the archive (ArchiveFile::describe()), the codec,
// the compressed offset and why ("gzip stream of /srv/a.tar.gz is corrupt
// at compressed offset 1234567: invalid distance too far back").
// `in_offset` is that compressed offset; `suspect` and `unit_out` (an
// output offset, bytes) say from where the output before it is in doubt.
class CorruptStream : public std::runtime_error {
 public:
  CorruptStream(const std::string& message, uint64_t in_offset, Suspect suspect = Suspect::since_restart_point,
                uint64_t unit_out = 0)
      : std::runtime_error(message), in_offset(in_offset), suspect(suspect), unit_out(unit_out) {}
  uint64_t in_offset;
  Suspect suspect;
  uint64_t unit_out;
  // Not damage of the stream: its file could not be read there, or the
  // decoder could not start (out of memory). A mount fails on it.
  bool input_failed = false;
};

// An error a decoder met after it had produced output in the same read():
// read() returns that output first (it was decoded, and checked as far as
// the format checks it) and throws the error on its next call, so that a
// caller sees where the stream's good output ends.
class PendingError {
 public:
  // One read(): throws the kept error if there is one, else clears
  // `boundary` and runs `decode()`; when it throws after output
  // (`produced()` bytes, counted also then), the error is kept for the next
  // call and `boundary` cleared (no restart point at an error).
  template <class Decode, class Produced>
  void decode(bool& boundary, Decode&& decode, Produced&& produced) {
    throw_if_kept();
    boundary = false;
    try {
      decode();
    } catch (const CorruptStream& e) {
      if (produced() == 0) throw;
      error_ = e;
      boundary = false;
    }
  }

 private:
  void throw_if_kept() const {
    if (error_) throw *error_;
  }
  std::optional<CorruptStream> error_;
};

// The compressed bytes of `in` from a compressed offset on, through a
// buffer: what a decoder feeds its library with. `codec` names the format
// in messages.
class CompressedInput {
 public:
  CompressedInput(const ArchiveFile& in, const std::string& codec, uint64_t offset);
  // The next unread bytes (at least 1, at most the buffer, 256 KiB), or an
  // empty span at the end of the file. Throws CorruptStream (naming the
  // archive and offset) when the file cannot be read.
  std::pair<const uint8_t*, size_t> peek();
  // Copies the next `n` bytes into `dst` and consumes them (across buffer
  // refills): false when the file ends before `n` bytes (what was there is
  // consumed). Throws as peek() does.
  bool take(uint8_t* dst, size_t n);
  // Marks `n` bytes of what peek() returned as used.
  void consume(size_t n) { pos_ += n; }
  // Compressed offset of the next unread byte.
  uint64_t offset() const { return start_ + pos_; }
  // Whether the whole file has been consumed.
  bool at_end() const { return offset() >= in_.size(); }
  // Moves to compressed offset `offset` (forward or back).
  void seek(uint64_t offset);
  // A CorruptStream naming the archive, the codec and the compressed offset
  // `at`: "<codec> stream of <archive> is corrupt at compressed offset <at>:
  // <why>".
  CorruptStream corrupt(uint64_t at, const std::string& why, Suspect suspect = Suspect::since_restart_point,
                        uint64_t unit_out = 0) const;
  // The same for input that ends early (`why` says where): the output
  // decoded before it is right (Suspect::none).
  CorruptStream truncated(uint64_t at, const std::string& why) const { return corrupt(at, why, Suspect::none); }
  // The same for a failure that is not the stream's (input_failed): the
  // file cannot be read, the decoder cannot start.
  CorruptStream failed(uint64_t at, const std::string& why) const {
    CorruptStream e = corrupt(at, why);
    e.input_failed = true;
    return e;
  }
  const ArchiveFile& file() const { return in_; }

 private:
  const ArchiveFile& in_;
  std::string codec_;
  std::vector<uint8_t> buf_;
  uint64_t start_ = 0;  // compressed offset of buf_[0]
  size_t pos_ = 0, filled_ = 0;
};

// One decoder positioned in a stream. Not thread-safe; one per reader.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Decodes up to `len` bytes of output into `buf` and returns how many
  // (0 only at the end of the whole stream: after the last gzip member, zstd
  // frame, xz stream or bzip2 stream, with any trailing skippable frames or
  // padding the format allows consumed). It may return fewer than `len`
  // bytes before the end; it should return early at each place where a
  // restart point can be taken, so that restart_point() can see it.
  // Reads its input through the ArchiveFile given to StreamCodec::decoder
  // (any read size; bounded memory). Concatenated streams/members (pigz,
  // pzstd, `cat a.xz b.xz`, pbzip2) are one stream here. Checks what the
  // format checks (CRCs, checksums) at least when decoding from {0,0,{}}.
  // Throws CorruptStream on corrupt or truncated input, and on an input
  // read error (the ArchiveFile has logged it).
  virtual size_t read(uint8_t* buf, size_t len) = 0;
  // The current output offset (bytes decoded so far plus the starting
  // point's out_offset).
  virtual uint64_t out_offset() const = 0;
  // The compressed offset of the next input byte not yet consumed (for
  // progress: how far through the file the decoder is).
  virtual uint64_t in_offset() const = 0;
  // A restart point at the current output offset if the decoder stands at a
  // boundary where one can be taken (right after read() returned there), else
  // nullopt. Called only now and then (when the caller wants a point), so it
  // may copy a window.
  virtual std::optional<RestartPoint> restart_point() const = 0;
  // Why part of what was decoded so far is covered by no check (zstd frames
  // made with --no-check carry no content checksum: a flipped byte there
  // decodes to other bytes unnoticed), or "" when every part is checked:
  // for a warning after the first pass.
  virtual std::string unchecked() const { return {}; }
};

// A compression format.
class StreamCodec {
 public:
  virtual ~StreamCodec() = default;
  // "gzip", "zstd", "xz", "bzip2": for messages.
  virtual std::string name() const = 0;
  // A decoder of `in` starting at `from` (a point this codec's decoders
  // returned, or {0,0,{}}). `in` outlives the decoder. Throws CorruptStream
  // when the input there does not start as expected.
  virtual std::unique_ptr<StreamDecoder> decoder(const ArchiveFile& in, const RestartPoint& from) const = 0;
  // How to re-compress a file of this format so that it has restart points
  // at most every few MiB, for the message refusing an archive whose points
  // lie too far apart: e.g. "pzstd -p 4 (or zstd -T0 --rsyncable... )".
  // `path` is the archive's name.
  virtual std::string recompress_hint(const std::string& path) const = 0;
};

// A StreamCodec whose decoders are `Decoder(in, from)`: `name` for
// messages, `hint` the re-compress command with {path} for the archive.
template <class Decoder>
class CodecOf : public StreamCodec {
 public:
  CodecOf(std::string name, std::string hint) : name_(std::move(name)), hint_(std::move(hint)) {}
  std::string name() const override { return name_; }
  std::unique_ptr<StreamDecoder> decoder(const ArchiveFile& in, const RestartPoint& from) const override {
    return std::make_unique<Decoder>(in, from);
  }
  std::string recompress_hint(const std::string& path) const override {
    std::string out = hint_;
    for (size_t at; (at = out.find("{path}")) != std::string::npos;) out.replace(at, 6, path);
    return out;
  }

 private:
  std::string name_, hint_;
};

// The codec whose magic `head` (the first bytes of a file; up to 16 are
// looked at, fewer when the file is shorter) starts with, or nullptr for
// data that is not compressed in a format this build reads.
std::unique_ptr<StreamCodec> detect_codec(const uint8_t* head, size_t len);

}  // namespace vdiskfs
