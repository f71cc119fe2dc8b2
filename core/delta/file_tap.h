#pragma once
// What watches an exposed file's I/O as the front end serves it: opens,
// the guest's reads, and the writes that reached the delta. A restore uses
// it to order its copy by what the guest reads, to yield to those reads and
// to mirror the writes to its target. The front end calls it; it never
// fails the guest's I/O.
#include <cstddef>
#include <cstdint>

namespace vdiskfs {

class FileTap {
 public:
  virtual ~FileTap() = default;
  // The file was opened / one open of it was released.
  virtual void opened() {}
  virtual void released() {}
  // A guest read of [offset, offset + len) bytes starts / ends.
  virtual void read_started(uint64_t /*offset*/, size_t /*len*/) {}
  virtual void read_finished() {}
  // A write of [offset, offset + len) bytes was stored in the delta.
  virtual void written(uint64_t /*offset*/, const uint8_t* /*buf*/, size_t /*len*/) {}
  // The file's size became `size` bytes (a truncate).
  virtual void resized(uint64_t /*size*/) {}
};

}  // namespace vdiskfs
