#pragma once
// Where a restore writes: a raw file, a block device, a qcow2 file (served
// to us by qemu-nbd through libnbd's socket activation) or an NBD server
// (`nbd://host:port/export`, libnbd). Offsets and lengths in bytes, the same
// as the exposed file's.
#include <fmt/core.h>

#include <cstdint>
#include <memory>
#include <string>

namespace vdiskfs {

// Why a target operation failed: errno (0 when none applies) and a message
// that names the target, the offset and what to do.
struct TargetError {
  int error = 0;
  std::string message;
};

class RestoreTarget {
 public:
  virtual ~RestoreTarget() = default;
  // Writes [offset, offset + len). Returns false and fills *why on failure.
  virtual bool write(uint64_t offset, const uint8_t* buf, size_t len, TargetError* why) = 0;
  // Makes [offset, offset + len) read as zeros (a hole, BLKZEROOUT or an
  // NBD zero request). Returns false and fills *why on failure.
  virtual bool zero(uint64_t offset, uint64_t len, TargetError* why) = 0;
  // Reads [offset, offset + len) (for verification).
  virtual bool read(uint64_t offset, uint8_t* buf, size_t len, TargetError* why) = 0;
  // Makes everything written durable (fdatasync, NBD flush).
  virtual bool flush(TargetError* why) = 0;
  // True when every byte not written by us reads as zero (a file or qcow2
  // that this restore created): free space then needs no zeroing.
  virtual bool starts_zeroed() const = 0;
  // The target's size in bytes.
  virtual uint64_t size() const = 0;
  // Whether writes may go past size() (a file: it grows); and making it
  // `size` bytes long (a file only). False and *why filled: cannot.
  virtual bool can_grow() const { return false; }
  virtual bool resize(uint64_t size, TargetError* why) {
    why->message = fmt::format("the restore target cannot grow to {} bytes", size);
    return false;
  }
  // How `restore finish` tells a user to attach it: the QEMU -drive line
  // and the libvirt disk XML. `format` is QEMU's name for what was copied
  // onto a file target (raw for the disk, qcow2, vmdk, vpc or vdi for a
  // container file); a qcow2 or NBD target always holds the raw disk.
  virtual std::string qemu_drive(const std::string& format) const = 0;
  virtual std::string libvirt_disk_xml(const std::string& format) const = 0;
};

// What kind of target a spec names: nbd://, nbds:// and nbd+unix:// URIs are
// NBD servers; a path ending .qcow2 a qcow2 file; a block device; anything
// else a raw file.
enum class TargetKind { raw_file, block_device, qcow2_file, nbd };
TargetKind target_kind(const std::string& spec);

// Opens (or creates) the target named by `spec` for a disk of `disk_bytes`:
// a new raw file is created sparse at that size, a new .qcow2 file with
// `qemu-img create`; an existing file is used only when `reuse` (a restore
// being resumed onto it), a block device or NBD export must hold at least
// `disk_bytes`. `as_file`: a file (or block device) whatever its name (a
// container file's bytes go to a file named .qcow2 as they are). Throws
// Error naming the target and what to do.
std::unique_ptr<RestoreTarget> open_restore_target(const std::string& spec, uint64_t disk_bytes, bool reuse,
                                                   bool as_file = false);

}  // namespace vdiskfs
