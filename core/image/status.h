#pragma once
// Result of an I/O in the core. errno values appear only at the FUSE edge.
#include <cstdint>

namespace vdiskfs {

enum class Status : uint8_t {
  ok,
  io_error,        // the source could not be read; already logged
  source_changed,  // the source no longer matches the scanned manifest; logged
  no_space,        // the delta's filesystem is full; nothing was changed
  read_only,       // the file cannot be written
};

inline bool ok(Status s) { return s == Status::ok; }

}  // namespace vdiskfs
