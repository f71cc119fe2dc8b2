#!/bin/bash
# Writable disks: writes through each container format and through the
# kernel's ext4 land in per-file deltas; they survive a remount; the views
# of one disk do not share writes; the source never changes; a delta is
# refused against a changed source or other layout options (exit status 1,
# with a message naming the change); FUSE truncate grows and shrinks a file;
# --read-only, --delta-memory, --discard-delta, `delta info`, and ENOSPC.
source "$(dirname "$0")/lib.sh"
require_root
for t in "qemu-img qemu-utils" "qemu-io qemu-utils" "jq jq" "e2fsck e2fsprogs" "partx util-linux" \
         "losetup mount" "fusermount3 fuse3" "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
bash "$TESTS_DIR/gen_tree.sh" small "$WORK/src"
before=$("$TREETOOL" hash "$WORK/src")
mkdir "$WORK/mnt" "$WORK/kernel"
D=$WORK/delta
M=$WORK/mnt

# expect_pattern FMT FILE PATTERN OFFSET LEN [QEMU_IO_OPTIONS...]: qemu-io
# reads LEN bytes at OFFSET of FILE (format FMT), each PATTERN.
expect_pattern() {
    local fmt=$1 file=$2 p=$3 off=$4 len=$5 out
    shift 5
    out=$(qemu-io "$@" -f "$fmt" -c "read -P $p $off $len" "$file" 2>&1) || die "qemu-io read -P $p $off $len of $file: $out"
    grep -q "Pattern verification failed" <<<"$out" && die "$file: not pattern $p at $off+$len: $out"
    grep -q "^read " <<<"$out" || die "qemu-io read -P $p $off $len of $file read nothing: $out"
}
# expect_no_pattern FMT FILE PATTERN OFFSET LEN: the read finds other bytes.
expect_no_pattern() {
    local out
    out=$(qemu-io -f "$1" -c "read -P $3 $4 $5" "$2" 2>&1) || true  # a mismatch is what is expected
    grep -q "Pattern verification failed" <<<"$out" || die "$2: still pattern $3 at $4+$5: $out"
}

# 1. qemu-io through every container format, the -flat.vmdk (raw) and the
#    -fixed.vhd (vpc) included, each with its own pattern; qemu-img check
#    stays clean.
WRITTEN=$(formats_json | jq -r '.[] | select(.name != "img") | "src" + (.files[] | select(.descriptor | not) | .suffix)' | tr '\n' ' ')
declare -A PAT=()
for f in $WRITTEN; do PAT[$f]=$(printf '%#x' $((0x5a + ${#PAT[@]}))); done
mount_fg "$WORK/src" "$M" --delta "$D"
img_sum=$(sha256sum <"$M/src.img")
for f in $WRITTEN; do
    fmt=$(fmt_of $f) p=${PAT[$f]}
    out=$(qemu-io -f "$fmt" -c "write -P $p 1M 32M" "$M/$f") || die "qemu-io write to $f: $out"
    expect_pattern "$fmt" "$M/$f" "$p" 1M 32M
    if [ "$fmt" != vpc ] && [ "$fmt" != raw ]; then
        out=$(qemu-img check -f "$fmt" --output=json "$M/$f") || die "qemu-img check $f after writes: $out"
        [ "$(jq '(.corruptions // 0) + (.leaks // 0) + (."check-errors" // 0)' <<<"$out")" = 0 ] || die "$f: $out"
    fi
    echo "ok: qemu-io write+read through $f"
done
[ "$(sha256sum <"$M/src.img")" = "$img_sum" ] || die "writes through the containers changed src.img"
echo "ok: the views do not share writes (src.img unchanged)"

# 2. The kernel's ext4, read-write, over a loop device on src.img.
dev=$(losetup -f --show -o $(($(partx -g -n 1 -o START "$M/src.img") * 512)) "$M/src.img")
CLEANUP_LOOPS+=("$dev")
mount -t ext4 "$dev" "$WORK/kernel"
CLEANUP_MOUNTS+=("$WORK/kernel")
echo "created by the guest" >"$WORK/kernel/new-file.txt"
random_bytes 3000000 >"$WORK/kernel/new-big.bin"
cp "$WORK/kernel/new-big.bin" "$WORK/big.expected"
echo "appended" >>"$WORK/kernel/sizes/r4096"
mv "$WORK/kernel/sizes/r4095" "$WORK/kernel/renamed-r4095"
rm "$WORK/kernel/sizes/r4097"
mkdir "$WORK/kernel/new-dir"
umount "$WORK/kernel"
out=$(e2fsck -fn "$dev" 2>&1) || die "e2fsck after guest writes: $out"
detach "$dev"
echo "ok: kernel ext4 read-write, e2fsck clean"
unmount_fg "$M"

# 3. After a remount everything is still there.
mount_fg "$WORK/src" "$M" --delta "$D"
for f in $WRITTEN; do expect_pattern "$(fmt_of $f)" "$M/$f" "${PAT[$f]}" 1M 32M; done
echo "ok: the writes through $WRITTEN persist"
kernel_mount "$M/src.img"
[ "$(cat "$WORK/kernel/new-file.txt")" = "created by the guest" ] || die "new-file.txt lost"
cmp "$WORK/kernel/new-big.bin" "$WORK/big.expected" || die "new-big.bin differs"
[ "$(tail -c 9 "$WORK/kernel/sizes/r4096")" = "appended" ] || die "append lost"
[ -f "$WORK/kernel/renamed-r4095" ] && [ ! -e "$WORK/kernel/sizes/r4095" ] || die "rename lost"
[ ! -e "$WORK/kernel/sizes/r4097" ] || die "delete lost"
[ -d "$WORK/kernel/new-dir" ] || die "mkdir lost"
kernel_unmount
echo "ok: remount shows every write"
info=$("$VDISKFS" delta info --json "$D")
[ "$(jq length <<<"$info")" = 8 ] || die "delta info lists $(jq length <<<"$info") deltas: $info"
held=$(jq '[.[] | select(.exposed_file == "src.qcow2")][0].bytes_held' <<<"$info")
((held >= 32 * 1024 * 1024 && held < 40 * 1024 * 1024)) || die "src.qcow2 delta holds $held bytes for a 32 MiB write"
echo "ok: delta info ($held bytes held for src.qcow2)"
unmount_fg "$M"
after=$("$TREETOOL" hash "$WORK/src")
[ "$before" = "$after" ] || die "the source changed: $before -> $after"
echo "ok: source unchanged"

# 4. FUSE truncate ("files may grow and shrink"): src.img shrinks to a size
#    inside a 4 KiB delta page (the bytes before it stay), then grows: the
#    new tail, and the base bytes cut off before, read as zeros. The size
#    and the bytes are the same after a remount.
T=$WORK/delta-truncate
mount_fg "$WORK/src" "$M" --delta "$T" --formats img
size0=$(stat -c %s "$M/src.img")
tail -c 65536 "$M/src.img" >"$WORK/tail.orig"
[ "$(tail -c 512 "$WORK/tail.orig" | tr -d '\0' | wc -c)" -gt 0 ] || die "the last sector (backup GPT header) reads as zeros"
cut=$((size0 - 10000)) grow=$((size0 + 8 * 1024 * 1024))
# expect_bytes WHEN SIZE: the file is SIZE bytes; up to $cut it holds the
# original bytes, beyond it zeros.
expect_bytes() {
    local got
    got=$(stat -c %s "$M/src.img")
    [ "$got" = "$2" ] || die "$1: src.img is $got bytes, expected $2"
    cmp <(dd if="$M/src.img" iflag=skip_bytes,count_bytes skip=$((size0 - 65536)) count=$((cut - size0 + 65536)) status=none) \
        <(head -c $((cut - size0 + 65536)) "$WORK/tail.orig") || die "$1: the bytes before the cut changed"
    got=$(dd if="$M/src.img" iflag=skip_bytes skip="$cut" bs=1M status=none | tr -d '\0' | wc -c)
    [ "$got" = 0 ] || die "$1: $got non-zero bytes after the cut"
}
truncate -s "$cut" "$M/src.img"
expect_bytes "shrunk" "$cut"
truncate -s "$grow" "$M/src.img"
expect_bytes "grown" "$grow"
unmount_fg "$M"
mount_fg "$WORK/src" "$M" --delta "$T" --formats img
expect_bytes "grown, remounted" "$grow"
unmount_fg "$M"
echo "ok: truncate shrinks and grows src.img ($size0 -> $cut -> $grow bytes), kept after a remount"

# 5. A changed source refuses the delta (exit status 1) and says what changed.
touch "$WORK/src/sizes/empty"
echo more >>"$WORK/src/sizes/r4096"
: >"$WORK/src/added-later"
expect_status "$EXIT_REFUSED" "different base" "$VDISKFS" mount --delta "$D" "$WORK/src" "$M"
for want in "changed size: sizes/r4096" "modified (mtime): sizes/empty" "added: added-later" "--discard-delta"; do
    grep -qF -- "$want" <<<"$OUT" || die "linkage error lacks '$want': $OUT"
done
mount_fg "$WORK/src" "$M" --delta "$D" --discard-delta
expect_no_pattern qcow2 "$M/src.qcow2" "${PAT[src.qcow2]}" 1M 4k  # --discard-delta dropped the old writes
# A delta that holds a write, for the refusals below (an empty one would
# just be replaced).
qemu-io -f qcow2 -c 'write -P 0x77 0 64k' "$M/src.qcow2" >/dev/null || die "write to the fresh delta failed"
unmount_fg "$M"
echo "ok: --discard-delta starts fresh"
# Other layout options: refused, naming the option's old and new value.
expect_status "$EXIT_REFUSED" "layout options changed:" "$VDISKFS" mount --delta "$D" --free 2G "$WORK/src" "$M"
grep -qF -- "free=20%" <<<"$OUT" && grep -qF -- "free=2147483648B" <<<"$OUT" || die "the refusal does not name --free's values: $OUT"
grep -qE -- "added:|removed:|changed size:|modified" <<<"$OUT" && die "only the layout differs, the refusal lists more: $OUT"
# The same options again: accepted, with the write.
mount_fg "$WORK/src" "$M" --delta "$D"
expect_pattern qcow2 "$M/src.qcow2" 0x77 0 64k
unmount_fg "$M"
# A removed source file: refused, naming it.
rm "$WORK/src/added-later"
expect_status "$EXIT_REFUSED" "removed: added-later" "$VDISKFS" mount --delta "$D" "$WORK/src" "$M"

# 6. --read-only and --delta-memory.
mount_fg "$WORK/src" "$M" --read-only
( : >"$M/src.img" ) 2>/dev/null && die "--read-only accepted a write"
unmount_fg "$M"
# --delta-memory: the writes read back during the mount, through fresh
# opens with O_DIRECT (not from the page cache: the daemon answers), with
# qemu-io and with dd; they are gone after a remount.
mount_fg "$WORK/src" "$M" --delta-memory
qemu-io -t none -f raw -c 'write -P 0x11 0 64k' "$M/src.img" >/dev/null || die "--delta-memory write failed"
expect_pattern raw "$M/src.img" 0x11 0 64k -t none
head -c 65536 /dev/zero | tr '\0' '\021' >"$WORK/pattern11"
dd if="$M/src.img" bs=64k count=1 iflag=direct status=none | cmp - "$WORK/pattern11" ||
    die "--delta-memory: dd does not read the write back"
unmount_fg "$M"
mount_fg "$WORK/src" "$M" --delta-memory
expect_no_pattern raw "$M/src.img" 0x11 0 64k  # --delta-memory writes do not survive a remount
unmount_fg "$M"
echo "ok: --read-only, --delta-memory"

# 7. ENOSPC on the delta's filesystem: the writer gets ENOSPC; the delta
#    still opens with everything written before.
mkdir "$WORK/small"
mount -t tmpfs -o size=8m tmpfs "$WORK/small"
CLEANUP_MOUNTS+=("$WORK/small")
mount_fg "$WORK/src" "$M" --delta "$WORK/small/d" --formats img
qemu-io -f raw -c 'write -P 0x33 0 1M' -c flush "$M/src.img" >/dev/null || die "first write failed"
if dd if=/dev/zero of="$M/src.img" bs=1M seek=2 count=64 conv=notrunc,fsync 2>"$WORK/dd.err"; then
    die "64 MiB into an 8 MiB delta filesystem succeeded"
fi
grep -q "No space left on device" "$WORK/dd.err" || die "dd failed otherwise: $(cat "$WORK/dd.err")"
unmount_fg "$M"
mount_fg "$WORK/src" "$M" --delta "$WORK/small/d" --formats img
expect_pattern raw "$M/src.img" 0x33 0 1M  # written before ENOSPC
unmount_fg "$M"
echo "ok: ENOSPC reported; the delta reopens with earlier writes"
echo "PASS delta_test"
