#pragma once
// A backup's /etc/fstab (fstab(5)): its lines, the root entry's identity,
// and the device a line names.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/image/identity.h"
#include "core/source/source.h"

namespace vdiskfs {

// One line of an fstab as written.
struct FstabLine {
  size_t number = 0;  // 1-based
  std::string text;   // the line, without its newline
  // Its whitespace-separated fields (fs_spec, fs_file, fs_vfstype,
  // fs_mntops, fs_freq, fs_passno), with fstab's octal escapes ("\040")
  // decoded; empty for a blank line or a comment.
  std::vector<std::string> fields;
};

// Every line of fstab text, in order.
std::vector<FstabLine> parse_fstab(std::string_view text);

// How fs_spec names a device.
enum class DeviceKind { uuid, label, partuuid, partlabel, path, other };
struct FstabDevice {
  DeviceKind kind = DeviceKind::other;
  std::string value;  // after "UUID=" etc., quotes removed; the whole spec for path and other
};
FstabDevice parse_device(std::string_view spec);

// Whether the comma-separated fs_mntops holds `option` ("noauto").
bool has_mount_option(std::string_view options, std::string_view option);

struct RootFsIdentity {
  std::optional<Uuid> uuid;  // from UUID=... of the "/" entry
  std::string label;         // from LABEL=... of the "/" entry
};

// The "/" entry of SOURCE/etc/fstab, or nothing when there is no fstab, no
// such entry, or it names the device another way (/dev/sda1, PARTUUID=).
std::optional<RootFsIdentity> root_identity_from_fstab(const Source& source);

// Parses fstab text (exposed for tests).
std::optional<RootFsIdentity> parse_fstab_root(const std::string& text);

// The bytes of the regular file at `path` of the source's tree (up to
// 1 MiB), or nothing when it is missing, not a regular file, larger or
// unreadable.
std::optional<std::string> read_tree_file(const Source& source, std::string_view path);

}  // namespace vdiskfs
