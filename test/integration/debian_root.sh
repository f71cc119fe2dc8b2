#!/bin/bash
# Prints the path of a minimal Debian 12 root filesystem (debootstrap
# minbase with a kernel, systemd and udev), building it on first use and
# caching it between runs on the same machine:
#   test/integration/debian_root.sh    -> /var/cache/vdiskfs-test/bookworm-minbase
# The tree is a plain debootstrap result; tests copy it before changing it.
set -euo pipefail

cache=${VDISKFS_DEBIAN_CACHE:-/var/cache/vdiskfs-test}
root=$cache/bookworm-minbase
mirror=${VDISKFS_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ -f "$root.complete" ]; then
    echo "$root"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "FAIL: 'debootstrap' is missing: install the Debian package 'debootstrap' (./setup.sh installs everything)" >&2; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9  # two tests building at once would fight over one folder
if [ -f "$root.complete" ]; then
    echo "$root"
    exit 0
fi
rm -rf "$root.partial"
echo "building a Debian root with debootstrap into $root (once per machine, a few minutes)" >&2
debootstrap --variant=minbase --include=linux-image-amd64,systemd-sysv,udev \
    bookworm "$root.partial" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { echo "FAIL: debootstrap failed; its log: $cache/debootstrap.log" >&2; tail -20 "$cache/debootstrap.log" >&2; exit 1; }
# Package caches are not part of a server's backup worth booting.
rm -rf "$root.partial"/var/cache/apt/archives/*.deb
ls "$root.partial"/boot/vmlinuz-* "$root.partial"/boot/initrd.img-* >/dev/null ||
    { echo "FAIL: debootstrap left no kernel or initrd in /boot" >&2; exit 1; }
rm -rf "$root"
mv "$root.partial" "$root"
touch "$root.complete"
echo "$root"
