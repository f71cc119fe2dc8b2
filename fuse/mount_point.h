#pragma once
// Checks a mount point before mounting, so that the user gets a clear
// message instead of a FUSE error: it must exist, be an empty directory,
// and not already be a mount (a dead FUSE mount is named as such).
#include <string>
#include <vector>

namespace vdiskfs {

// Returns the canonical path; throws Error naming the problem.
std::string check_mount_point(const std::string& path);

// True when `path` (canonical) is listed in /proc/self/mountinfo.
bool is_mount_point(const std::string& canonical_path);

// The mount points (unescaped) of every mount of `fstype` (fuse.vdiskfs).
std::vector<std::string> mounts_of_type(const std::string& fstype);

// "major:minor" of the newest mount at `canonical_path`, or "".
std::string mount_device(const std::string& canonical_path);

// Sets the kernel's readahead for the mount at `canonical_path` (the
// default 128 KiB makes sequential reads of many small files slow).
// Returns false when it cannot (not root, no sysfs).
bool set_mount_readahead(const std::string& canonical_path, unsigned kib);

}  // namespace vdiskfs
