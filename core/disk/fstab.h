#pragma once
// Reads the root filesystem's identity from a backup's own /etc/fstab, so
// that a restored system's `root=UUID=...` and fstab lines resolve.
#include <optional>
#include <string>

#include "core/image/identity.h"
#include "core/source/source.h"

namespace vdiskfs {

struct RootFsIdentity {
  std::optional<Uuid> uuid;  // from UUID=... of the "/" entry
  std::string label;         // from LABEL=... of the "/" entry
};

// The "/" entry of SOURCE/etc/fstab, or nothing when there is no fstab, no
// such entry, or it names the device another way (/dev/sda1, PARTUUID=).
std::optional<RootFsIdentity> root_identity_from_fstab(const Source& source);

// Parses fstab text (exposed for tests).
std::optional<RootFsIdentity> parse_fstab_root(const std::string& text);

}  // namespace vdiskfs
