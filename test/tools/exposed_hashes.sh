#!/usr/bin/env bash
# exposed_hashes.sh VDISKFS SOURCE [MOUNT OPTIONS...] — print "sha256  name" of
# every file the mount of SOURCE exposes, one per line, sorted by name.
#
# Used to show that a change of code leaves the bytes alone: run it with the
# binary of the commit before and after, on the same SOURCE, and diff.
# Runs as root (FUSE); mounts read-only on a temporary folder, unmounts after.
set -euo pipefail
export LC_ALL=C

[[ $# -ge 2 ]] || { echo "usage: exposed_hashes.sh VDISKFS SOURCE [MOUNT OPTIONS...]" >&2; exit 2; }
vdiskfs=$1 source=$2
shift 2
mnt=$(mktemp -d /tmp/exposed-hashes.XXXXXX)
log=$mnt.log
trap 'fusermount3 -u "$mnt" 2>/dev/null || true; rmdir "$mnt" 2>/dev/null || true; rm -f "$log"' EXIT

"$vdiskfs" mount --read-only --quiet --log "$log" "$@" "$source" "$mnt" \
    || { cat "$log" >&2; exit 1; }
cd "$mnt"
for f in $(ls | sort); do
    sha256sum "$f"
done
cd /
fusermount3 -u "$mnt"
