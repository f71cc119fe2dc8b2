#!/bin/bash
# lseek SEEK_DATA / SEEK_HOLE on every exposed file: the holes the mount
# reports read as zeros, the .img of a tree with free space has holes,
# qemu-img map shows them as zero and qemu-img convert skips them (the copy
# equals the disk, allocating no more than the data); after a write to the
# delta the written bytes are found as data; past the end is ENXIO.
source "$(dirname "$0")/lib.sh"
require_root
for t in "qemu-img qemu-utils" "qemu-io qemu-utils" "jq jq" "python3 python3" "fusermount3 fuse3" \
         "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
SEEK_MAP="python3 $TESTS_DIR/../tools/seek_map.py"
bash "$TESTS_DIR/gen_tree.sh" small "$WORK/src"
M=$WORK/mnt
mkdir "$M"

# 1. Read-only: every exposed file; the .img holds less data than its size.
mount_fg "$WORK/src" "$M" --read-only
for f in $(exposed_files src); do
    map=$($SEEK_MAP "$M/$f") || die "seek map of $f: $map"
    echo "$f: $map"
done
map=$($SEEK_MAP "$M/src.img")
data=$(jq .data <<<"$map") size=$(jq .size <<<"$map")
[ "$data" -lt $((size / 2)) ] || die "src.img: SEEK_HOLE finds no free space: $map"
[ "$(jq .ranges <<<"$map")" -gt 1 ] || die "src.img: one data range only: $map"

# qemu-img sees the holes (file-posix asks SEEK_DATA/SEEK_HOLE) and its
# copy is sparse and equal.
zero=$(qemu-img map -f raw --output=json "$M/src.img" | jq '[.[] | select(.data == false) | .length] | add')
[ "${zero:-0}" -gt $((size / 2)) ] || die "qemu-img map of src.img finds $zero bytes of holes (size $size)"
qemu-img convert -f raw -O raw "$M/src.img" "$WORK/copy.img" || die "qemu-img convert of src.img failed"
cmp "$M/src.img" "$WORK/copy.img" || die "qemu-img convert's copy differs from src.img"
held=$(($(stat -c %b "$WORK/copy.img") * 512))
[ "$held" -le $((data + 4 * 1048576)) ] || die "the copy holds $held bytes, the data is $data bytes"

# Past the end: ENXIO for both.
python3 - "$M/src.img" <<'PY' || die "lseek past the end of src.img did not fail with ENXIO"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
for whence in (os.SEEK_DATA, os.SEEK_HOLE):
    try:
        os.lseek(fd, size, whence)
        sys.exit(1)
    except OSError as e:
        if e.errno != errno.ENXIO:
            sys.exit(1)
PY
unmount_fg "$M"

# 2. With a delta: a write into a hole is found as data and reads back.
mount_fg "$WORK/src" "$M"
hole=$(python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); print(os.lseek(fd, os.lseek(fd, 0, os.SEEK_HOLE), os.SEEK_SET))' "$M/src.img")
off=$(((hole + 1048576) / 1048576 * 1048576))
out=$(qemu-io -f raw -c "write -P 0x7e $off 64k" "$M/src.img") || die "qemu-io write at $off: $out"
found=$(python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); print(os.lseek(fd, int(sys.argv[2]), os.SEEK_DATA))' "$M/src.img" "$off")
[ "$found" = "$off" ] || die "after a write at $off, SEEK_DATA from there answers $found"
$SEEK_MAP "$M/src.img" >/dev/null || die "seek map of the written src.img failed"
qemu-img convert -f raw -O raw "$M/src.img" "$WORK/copy2.img" || die "qemu-img convert of the written src.img failed"
out=$(qemu-io -f raw -c "read -P 0x7e $off 64k" "$WORK/copy2.img") || die "qemu-io read of the copy: $out"
grep -q "Pattern verification failed" <<<"$out" && die "the copy lost the write at $off: $out"
cmp "$M/src.img" "$WORK/copy2.img" || die "the copy of the written src.img differs"
unmount_fg "$M"
echo "PASS"
