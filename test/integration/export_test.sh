#!/bin/bash
# vdiskfs export: every format of the table (-O and from the suffix) equals
# the mounted file byte for byte and, for the .img, qemu-img compare says
# identical; qemu-img check is clean for the formats it checks; the file
# holds no more than the data ranges; progress as JSON lines; a bar on a
# terminal only; refusals (unknown format, an existing file), and a full
# target (a small tmpfs): a clear error, the partial file removed.
source "$(dirname "$0")/lib.sh"
require_root
for t in "qemu-img qemu-utils" "jq jq" "python3 python3" "script bsdutils" "fusermount3 fuse3" \
         "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
bash "$TESTS_DIR/gen_tree.sh" small "$WORK/tree"
# Reading a source moves its atimes, which the disk carries: every scan of
# the test must see the same tree, so the source is a read-only noatime view.
mkdir -p "$WORK/src"
mount --bind "$WORK/tree" "$WORK/src"
CLEANUP_MOUNTS+=("$WORK/src")
mount -o remount,bind,ro,noatime "$WORK/src"
M=$WORK/mnt
mkdir "$M" "$WORK/out"
mount_fg "$WORK/src" "$M" --read-only
data=$(python3 "$TESTS_DIR/../tools/seek_map.py" "$M/src.img" | jq .data)

# 1. Each format by -O: equal to the mounted file; qemu-img's verdicts.
for row in "raw .img" "qcow2 .qcow2" "vmdk .vmdk" "vhd .vhd" "vhd-fixed -fixed.vhd" "vdi .vdi" "vmdk-flat -flat.vmdk"; do
    set -- $row
    out=$WORK/out/o$2
    "$VDISKFS" export -q -O "$1" "$WORK/src" "$out" || die "vdiskfs export -O $1 failed"
    cmp "$out" "$M/src$2" || die "export -O $1 differs from the mounted src$2"
    fmt=$(fmt_of "src$2")
    cmpout=$(qemu-img compare -f raw -F "$fmt" "$M/src.img" "$out") || die "qemu-img compare src.img vs -O $1: $cmpout"
    case $fmt in qcow2 | vmdk | vdi)
        qemu-img check -f "$fmt" "$out" >/dev/null || die "qemu-img check of -O $1: $(qemu-img check -f "$fmt" "$out" 2>&1)"
        ;;
    esac
    held=$(($(stat -c %b "$out") * 512))
    [ "$held" -le $((data + 8 * 1048576)) ] || die "-O $1 holds $held bytes; the disk's data is $data bytes"
    echo "ok: export -O $1: equal to src$2, qemu-img compare identical, $held bytes held (data $data)"
done

# 2. The format from the suffix; --json lines (progress, then the result).
"$VDISKFS" export --json "$WORK/src" "$WORK/out/by-suffix.qcow2" >"$WORK/json.out" || die "export --json failed"
cmp "$WORK/out/by-suffix.qcow2" "$M/src.qcow2" || die "export to *.qcow2 did not write the qcow2 file"
jq -se 'any(.[]; .finished == true and .done == .total)' "$WORK/json.out" >/dev/null || die "no finished progress line: $(cat "$WORK/json.out")"
jq -se '.[-1] | .format == "qcow2" and .data_bytes > 0' "$WORK/json.out" >/dev/null || die "no result line: $(cat "$WORK/json.out")"
echo "ok: the format from the suffix; JSON lines"

# 3. A bar on a terminal (script gives one), nothing on stderr without one.
script -qec "$VDISKFS export $WORK/src $WORK/out/tty.img" /dev/null >"$WORK/tty.out" || die "export on a terminal failed"
grep -q "exporting $WORK/out/tty.img \[" "$WORK/tty.out" || die "no progress bar on a terminal: $(cat -v "$WORK/tty.out" | head -5)"
"$VDISKFS" export "$WORK/src" "$WORK/out/quiet.img" 2>"$WORK/quiet.err" >/dev/null || die "export failed"
! grep -q "exporting" "$WORK/quiet.err" || die "a progress bar without a terminal: $(cat "$WORK/quiet.err")"
echo "ok: a bar on a terminal only"

# 4. Refusals and a full target.
expect_status $EXIT_REFUSED "not a format" "$VDISKFS" export -q -O zip "$WORK/src" "$WORK/out/x.img"
expect_status $EXIT_REFUSED "never overwrites" "$VDISKFS" export -q "$WORK/src" "$WORK/out/o.img"
mkdir "$WORK/small"
mount -t tmpfs -o size=1m tmpfs "$WORK/small"
CLEANUP_MOUNTS+=("$WORK/small")
expect_status $EXIT_REFUSED "No space left on device" "$VDISKFS" export -q "$WORK/src" "$WORK/small/full.img"
[ ! -e "$WORK/small/full.img" ] || die "the partial export was left behind"
grep -q "offset" <<<"$OUT" || die "the full-target error names no offset: $OUT"
umount "$WORK/small"
unmount_fg "$M"
umount "$WORK/src"
echo "PASS"
