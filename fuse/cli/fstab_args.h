#pragma once
// The form in which mount.fuse3 runs a FUSE filesystem for an /etc/fstab
// line of type fuse.vdiskfs (or `vdiskfs#SOURCE` of type fuse):
//   vdiskfs SOURCE MOUNTPOINT -o OPT[,OPT...]
// turned into the arguments of `vdiskfs mount`.
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace vdiskfs {

// When `args` (argv without the program name) are of the fstab form (the
// first is neither an option nor a subcommand of `app`), the arguments of
// `vdiskfs mount` they mean: SOURCE MOUNTPOINT, then per option `ro` ->
// --read-only; KEY=VALUE -> --KEY VALUE and KEY -> --KEY for the long
// options and flags of `mount_cmd` (`formats=img+vmdk`: '+' for the comma
// fstab cannot hold); allow_other, allow_root, default_permissions and
// auto_unmount -> -o KEY (FUSE's own); mount(8)'s generic options (rw,
// defaults, dev, suid, exec, atime flags, auto, user, nofail, _netdev,
// x-*, comment=) are dropped. nullopt when `args` are not of that form.
// Throws Error naming an option that is none of these, or a flag given a
// value, or an option without its value.
std::optional<std::vector<std::string>> fstab_mount_args(const std::vector<std::string>& args, const CLI::App& app,
                                                         const CLI::App& mount_cmd);

}  // namespace vdiskfs
