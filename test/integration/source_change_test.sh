#!/bin/bash
# A source file that shrinks, vanishes, is modified or replaced after the
# mount gives EIO on the reads that touch it and a log line naming it;
# untouched files still read correctly and the daemon stays up.
source "$(dirname "$0")/lib.sh"
require_root
for t in "fusermount3 fuse3" "partx util-linux" "losetup mount" "$VDISKFS vdiskfs(build)"; do require $t; done
make_work

mkdir -p "$WORK/src" "$WORK/mnt" "$WORK/kernel"
for f in shrinks touched vanishes replaced intact; do
    random_bytes $((3 * 1024 * 1024 + 17)) >"$WORK/src/$f"
done
cp "$WORK/src/intact" "$WORK/intact.orig"

mount_fg "$WORK/src" "$WORK/mnt" --log "$WORK/daemon.log"
truncate -s 1000 "$WORK/src/shrinks"
touch -d '2030-01-01' "$WORK/src/touched"
rm "$WORK/src/vanishes"
random_bytes $((3 * 1024 * 1024 + 17)) >"$WORK/replaced.new"
mv "$WORK/replaced.new" "$WORK/src/replaced"

kernel_mount "$WORK/mnt/src.img"
for f in shrinks touched vanishes replaced; do
    if cat "$WORK/kernel/$f" >/dev/null 2>"$WORK/err"; then die "reading changed file $f succeeded"; fi
    grep -q "Input/output error" "$WORK/err" || die "reading $f failed with: $(cat "$WORK/err")"
    grep -q "source file $WORK/src/$f .*EIO" "$WORK/daemon.log" || die "no log line names $f: $(cat "$WORK/daemon.log")"
    echo "ok: $f -> EIO, logged"
done
cmp "$WORK/kernel/intact" "$WORK/intact.orig" || die "untouched file reads wrong bytes"
mountpoint -q "$WORK/mnt" || die "the daemon went away"
kill -0 "$MOUNT_PID" || die "the daemon died"
echo "ok: untouched file intact, daemon up"
kernel_unmount
unmount_fg "$WORK/mnt"
echo "PASS source_change_test"
