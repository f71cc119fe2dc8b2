#!/bin/bash
# Mounts the sample tree as a disk, shows what tools see, unmounts.
#   examples/mount-example.sh [SOURCE]   (run as root, after building into build/)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vdiskfs=${VDISKFS:-$here/../build/vdiskfs}
source=${1:-$here/sample-tree}
[ -x "$vdiskfs" ] || { echo "build first: cmake -S . -B build && cmake --build build -j2" >&2; exit 1; }

mp=$(mktemp -d /tmp/vdiskfs-example.XXXXXX)
# Unmounts and removes the mount point; a failed unmount fails the script.
cleanup() {
    local rc=$?
    if mountpoint -q "$mp" && ! fusermount3 -u "$mp"; then
        echo "mount-example.sh: fusermount3 -u $mp failed: it is still mounted" >&2
        rc=1
    fi
    rmdir "$mp" 2>/dev/null || { echo "mount-example.sh: cannot remove $mp" >&2; rc=1; }
    exit $rc
}
trap cleanup EXIT

echo "== vdiskfs mount --read-only $source $mp"
"$vdiskfs" mount --read-only "$source" "$mp"
ls -l "$mp"
img=$(ls "$mp"/*.img)

echo; echo "== qemu-img info $img"
qemu-img info "$img"

echo; echo "== partition table (sgdisk -p)"
sgdisk -p "$img"

echo; echo "== ext4 superblock of partition 1 (dumpe2fs -h)"
offset=$(( $(partx -g -n 1 -o START "$img") * 512 ))
loop=$(losetup -r -f --show -o "$offset" "$img")
dumpe2fs -h "$loop" 2>/dev/null | grep -E "^(Filesystem UUID|Filesystem features|Block count|Inode count|Free blocks)"
losetup -d "$loop"

echo; echo "== fusermount3 -u $mp"
