#!/bin/bash
# Prints the path of a minimal Debian 12 root filesystem (debootstrap
# minbase with a kernel, systemd and udev), building it on first use and
# caching it between runs on the same machine:
#   test/integration/debian_root.sh    -> /var/cache/vdiskfs-test/bookworm-minbase
# The tree is a plain debootstrap result; tests copy it before changing it.
# Only the first run on a machine needs the network (Debian's mirror): the
# mirror apt uses here, unless VDISKFS_DEBIAN_MIRROR names another. A root
# built elsewhere can be put in place by hand (see the message on failure).
set -euo pipefail

cache=${VDISKFS_DEBIAN_CACHE:-/var/cache/vdiskfs-test}
root=$cache/bookworm-minbase
include=linux-image-amd64,systemd-sysv,udev
# What the cached root was built with: a change of the package list rebuilds it.
recipe="debootstrap --variant=minbase --include=$include bookworm"

# fail MESSAGE: the test cannot get its Debian root.
fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# apt_mirror: the first Debian mirror of this machine's apt sources (deb822
# or one-line form), or deb.debian.org.
apt_mirror() {
    local m
    m=$(sed -n 's/^URIs: *\([^ ]*\/debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
    [ -n "$m" ] || m=$(sed -n 's/^deb  *\(\[[^]]*\] *\)\?\([^ ]*\/debian\)\/* .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -1)
    echo "${m:-http://deb.debian.org/debian}"
}

# cached: the root is complete and was built with this recipe.
cached() {
    [ -f "$root.complete" ] && [ "$(cat "$root.complete")" = "$recipe" ]
}

if cached; then
    echo "$root"
    exit 0
fi
command -v debootstrap >/dev/null || fail "'debootstrap' is missing: install the Debian package 'debootstrap' (./setup.sh installs everything)"
mirror=${VDISKFS_DEBIAN_MIRROR:-$(apt_mirror)}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9  # two tests building at once would fight over one folder
if cached; then
    echo "$root"
    exit 0
fi
by_hand="or build it where a mirror can be reached (test/integration/debian_root.sh), copy it to $root here and write '$recipe' into $root.complete"
# A mirror that cannot be reached fails in seconds with a message, not
# after debootstrap's retries.
python3 - "$mirror/dists/bookworm/InRelease" <<'PY' ||
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=30).read(1)
except Exception as e:
    print(f"{sys.argv[1]}: {e}", file=sys.stderr)
    sys.exit(1)
PY
    fail "the Debian mirror $mirror cannot be reached: the instant-recovery test builds its Debian root once per machine with debootstrap. Set VDISKFS_DEBIAN_MIRROR to a reachable mirror, $by_hand"
rm -rf "$root.partial"
echo "building a Debian root with debootstrap from $mirror into $root (once per machine, a few minutes)" >&2
# shellcheck disable=SC2086 # the recipe is words
$recipe "$root.partial" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; fail "debootstrap from $mirror failed (its log: $cache/debootstrap.log); retry, $by_hand"; }
# Package caches are not part of a server's backup worth booting.
rm -rf "$root.partial"/var/cache/apt/archives/*.deb
ls "$root.partial"/boot/vmlinuz-* "$root.partial"/boot/initrd.img-* >/dev/null ||
    fail "debootstrap left no kernel or initrd in $root.partial/boot"
rm -rf "$root"
mv "$root.partial" "$root"
echo "$recipe" >"$root.complete"
echo "$root"
