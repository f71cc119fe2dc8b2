#!/bin/bash
# Compressed tar archives read in place (issue 17). The small test tree plus
# a 70 MiB file of varied text (so that the stream has many restart points
# and outgrows the 64 MiB of decoded pages kept in memory) is packed once as
# a plain POSIX tar, then compressed by gzip, pigz, pzstd, xz -T0, bzip2 and pbzip2 (the
# compressors the issue names for archives with restart points). Each
# compressed archive is mounted and its whole .img must equal, byte for
# byte, `vdiskfs export` of the plain tar (the disk's identity covers the
# tree and the members' offsets in the uncompressed archive, not the
# compressed bytes); the gzip one is also mounted by the kernel's ext4 and
# compared entry by entry with the source tree. Reads behind the first pass
# must have restarted the decoder at restart points (the mount's counters).
# Then: a one-frame `zstd` archive whose restart points lie further apart
# than --restart-limit is refused with a message naming the archive and how
# to re-compress, and mounts with --cache-dir (decompressed once into a
# copy there, logged); corrupt and truncated gzip, xz, bzip2 and zstd
# streams mount with the files before the damage whole, the one running
# into it giving EIO, those after left out, a log line naming the archive
# and the compressed offset (refused under --strict); a stream damaged
# after the mount gives EIO for the reads it touches, a log line naming the
# archive, and the daemon stays up. No archive may change.
source "$(dirname "$0")/lib.sh"
require_root
for t in "tar tar" "gzip gzip" "pigz pigz" "pzstd zstd" "zstd zstd" "xz xz-utils" "bzip2 bzip2" "pbzip2 pbzip2" "e2fsck e2fsprogs" \
         "losetup mount" "fusermount3 fuse3" "python3 python3" "cmp diffutils" "jq jq" "base64 coreutils" \
         "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do
    require $t
done

make_work
bash "$TESTS_DIR/gen_tree.sh" small "$WORK/src"
rm "$WORK/src/special/socket"  # tar cannot hold a socket
random_bytes $((52 * 1024 * 1024)) >"$WORK/random.bin"
base64 -w 100 "$WORK/random.bin" >"$WORK/src/big.txt" && rm "$WORK/random.bin"
tar --format=posix --xattrs --xattrs-include='*' --sparse --numeric-owner --atime-preserve=system \
    -C "$WORK/src" -cf "$WORK/src.tar" . || die "tar failed"
before=$("$TREETOOL" hash "$WORK/src")
echo "plain tar: $(stat -c %s "$WORK/src.tar") bytes"

# The reference disk: export of the plain tar (no FUSE).
"$VDISKFS" export -q "$WORK/src.tar" "$WORK/ref.img" || die "vdiskfs export $WORK/src.tar failed"

# compress NAME CMD...: $WORK/NAME from the plain tar through CMD (stdin to
# stdout), with the plain tar's mtime (the disk's implied directories carry
# the archive's time).
compress() {
    local name=$1
    shift
    "$@" <"$WORK/src.tar" >"$WORK/$name" || die "$* failed"
    touch -r "$WORK/src.tar" "$WORK/$name"
    sums[$name]=$(sha256sum <"$WORK/$name")
    echo "$name: $(stat -c %s "$WORK/$name") bytes by $*"
}
declare -A sums
compress src-gzip.tar.gz gzip -c
compress src-pigz.tar.gz pigz -p 2 -c
compress src.tar.zst pzstd -q -p 2 -c
compress src.tar.xz xz -T2 --block-size=8MiB -c
compress src.tar.bz2 bzip2 -c
compress src-pbzip2.tar.bz2 pbzip2 -p2 -c
compress one-frame.tar.zst zstd -q -c

mkdir "$WORK/mnt" "$WORK/kernel"
# check_archive NAME: mounts it read-only, the .img equals the reference,
# decoder restarts happened; the gzip one through the kernel's ext4 too.
check_archive() {
    local name=$1 img stats restarts points
    mount_fg "$WORK/$name" "$WORK/mnt" --read-only
    # web01.tar.gz shows as web01.img
    img=$WORK/mnt/${name%%.tar.*}.img
    [ -f "$img" ] || die "$name is not exposed as $(basename "$img"): $(ls "$WORK/mnt")"
    cmp "$img" "$WORK/ref.img" || die "the disk of $name differs from the plain tar's"
    stats=$("$VDISKFS" stats "$WORK/mnt" --json) || die "vdiskfs stats failed"
    restarts=$(jq -r '.source_counters.decoder_restarts' <<<"$stats")
    points=$(jq -r '.source_counters.restart_points' <<<"$stats")
    [ "$points" -ge 8 ] || die "$name: only $points restart points for a $(stat -c %s "$WORK/src.tar")-byte stream: $stats"
    [ "$restarts" -ge 1 ] || die "$name: the read of the whole disk never restarted a decoder: $stats"
    echo "ok: $name: the disk equals the plain tar's; $points restart points, $restarts decoder restarts"
    if [ "$name" = src-gzip.tar.gz ]; then
        kernel_mount --fsck "$img"
        "$TREETOOL" compare "$WORK/src" "$WORK/kernel" --ignore lost+found || die "kernel view of $name differs from the source"
        echo "ok: the kernel's ext4 of $name equals the source tree"
        kernel_unmount
    fi
    unmount_fg "$WORK/mnt"
}
for name in src-gzip.tar.gz src-pigz.tar.gz src.tar.zst src.tar.xz src.tar.bz2 src-pbzip2.tar.bz2; do check_archive "$name"; done

# ---------------------------------------------------------------- kept index
# The first scan keeps an index; the next one uses it (no decompression, the
# same disk); a damaged index or a touched archive is scanned again.
idx=$WORK/index
"$VDISKFS" info --index-dir "$idx" "$WORK/src-gzip.tar.gz" >/dev/null 2>"$WORK/info1.err" || die "info (first) failed: $(cat "$WORK/info1.err")"
index_file=$(ls "$idx"/src-gzip.tar.gz-*.vdidx 2>/dev/null) || die "no index kept in $idx: $(ls -la "$idx" 2>&1)"
grep -qF "kept index" "$WORK/info1.err" && die "the first scan claims a kept index: $(cat "$WORK/info1.err")"
"$VDISKFS" export --index-dir "$idx" "$WORK/src-gzip.tar.gz" "$WORK/indexed.img" 2>"$WORK/info2.err" || die "export with the index failed: $(cat "$WORK/info2.err")"
grep -qF "the tree and the stream's restart points from the kept index $index_file" "$WORK/info2.err" ||
    die "the second scan did not use the kept index: $(cat "$WORK/info2.err")"
cmp "$WORK/indexed.img" "$WORK/ref.img" || die "the disk made from the kept index differs from the plain tar's"
first=$("$VDISKFS" info --json --no-index "$WORK/src-gzip.tar.gz" 2>/dev/null | jq .scan_seconds)
second=$("$VDISKFS" info --json --index-dir "$idx" "$WORK/src-gzip.tar.gz" 2>/dev/null | jq .scan_seconds)
echo "ok: the kept index gives the same disk; scan $first s without it, $second s with it"
python3 - "$index_file" <<'PY' || die "cannot damage the index"
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(200); b = f.read(1); f.seek(200); f.write(bytes([b[0] ^ 0x55]))
PY
"$VDISKFS" export --index-dir "$idx" "$WORK/src-gzip.tar.gz" "$WORK/indexed2.img" 2>"$WORK/info3.err" || die "export with a damaged index failed: $(cat "$WORK/info3.err")"
grep -qF "is not used: damaged (its checksum does not match)" "$WORK/info3.err" || die "a damaged index was not reported: $(cat "$WORK/info3.err")"
cmp "$WORK/indexed2.img" "$WORK/ref.img" || die "the disk after a damaged index differs"
out=$("$VDISKFS" info --index-dir "$idx" "$WORK/src-gzip.tar.gz" 2>&1 >/dev/null) || die "info failed: $out"
grep -qF "from the kept index" <<<"$out" || die "the damaged index was not rewritten: $out"
cp -p "$WORK/src-gzip.tar.gz" "$WORK/touched.tar.gz"
"$VDISKFS" info --index-dir "$idx" "$WORK/touched.tar.gz" >/dev/null 2>&1 || die "info touched.tar.gz failed"
touch -d '2001-01-01' "$WORK/touched.tar.gz"
out=$("$VDISKFS" info --index-dir "$idx" "$WORK/touched.tar.gz" 2>&1 >/dev/null) || die "info failed: $out"
grep -qF "made for another version of the archive" <<<"$out" || die "an index of an archive whose mtime changed was used: $out"
mkdir "$WORK/noidx"
"$VDISKFS" info --no-index --index-dir "$WORK/noidx" "$WORK/src.tar.zst" >/dev/null 2>&1 || die "info --no-index failed"
[ -z "$(ls -A "$WORK/noidx")" ] || die "--no-index kept an index: $(ls "$WORK/noidx")"
echo "ok: a damaged index and a touched archive are scanned again; --no-index keeps none"

# ---------------------------------------------------------------- one frame
expect_status "$EXIT_REFUSED" "$WORK/one-frame.tar.zst is zstd-compressed with more than 16.0 MiB of output between restart points" \
    "$VDISKFS" mount --read-only --restart-limit 16M "$WORK/one-frame.tar.zst" "$WORK/mnt"
grep -qF "pzstd" <<<"$OUT" || die "the refusal does not say how to re-compress: $OUT"
grep -qF -- "--cache-dir" <<<"$OUT" || die "the refusal does not name --cache-dir: $OUT"
mountpoint -q "$WORK/mnt" && die "one-frame.tar.zst was refused, yet $WORK/mnt is mounted"
mkdir "$WORK/cache"
log_mark
mount_fg "$WORK/one-frame.tar.zst" "$WORK/mnt" --read-only --restart-limit 16M --cache-dir "$WORK/cache"
log_since | grep -qF "decompressing it once into a copy in $WORK/cache" || die "no log line about the copy: $(log_since)"
cmp "$WORK/mnt/one-frame.img" "$WORK/ref.img" || die "the disk of one-frame.tar.zst (copied) differs from the plain tar's"
unmount_fg "$WORK/mnt"
[ -z "$(ls -A "$WORK/cache")" ] || die "the copy in $WORK/cache was left behind: $(ls -A "$WORK/cache")"
echo "ok: one-frame.tar.zst refused under --restart-limit 16M, equal through --cache-dir"

# ---------------------------------------------------------------- damage
# corrupt_at FILE OFFSET: flips the byte at OFFSET, keeping the mtime.
corrupt_at() {
    python3 - "$1" "$2" <<'PY' || die "cannot corrupt $1"
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0xFF]))
PY
}
# Damage found by the first pass: the mount goes on with what could be read.
# dmg.tar holds 24 files of 1 MiB (f00..f23, in that order); each damaged
# copy is mounted, and through the kernel's ext4 no file may read other
# bytes than the source's: each reads whole, gives EIO, or is absent (its
# header lay past the damage); the whole ones come first. A cut stream
# keeps every file before the cut whole and gives EIO for at most the one
# running into it; a flipped byte in an xz, bzip2 or zstd stream costs the
# files of the blocks or frames from the last restart point on (their
# checks fail); in a gzip stream the member's CRC-32 fails at its end and
# where the bytes went wrong cannot be told: nothing can be read. A log
# line names the archive and the compressed offset; the daemon stays up.
mkdir "$WORK/dmg"
for i in $(seq -w 0 23); do
    random_bytes $((768 * 1024)) >"$WORK/r.bin"
    base64 -w 100 "$WORK/r.bin" >"$WORK/dmg/f$i" && truncate -s 1M "$WORK/dmg/f$i" || die "cannot make dmg/f$i"
done
rm "$WORK/r.bin"
tar --format=posix --sort=name -C "$WORK/dmg" -cf "$WORK/dmg.tar" . || die "tar of dmg failed"
gzip -c "$WORK/dmg.tar" >"$WORK/dmg.tar.gz"
xz -T2 --block-size=1MiB -c "$WORK/dmg.tar" >"$WORK/dmg.tar.xz"
pzstd -q -p 2 -c "$WORK/dmg.tar" >"$WORK/dmg.tar.zst"
bzip2 -c "$WORK/dmg.tar" >"$WORK/dmg.tar.bz2"
# check_damaged NAME KIND MIN_WHOLE MAX_EIO: mounts the damaged $WORK/NAME
# and judges it: at least MIN_WHOLE files whole, at most MAX_EIO with EIO.
check_damaged() {
    local name=$1 kind=$2 min_good=$3 max_eio=$4 good=0 eio=0 missing=0 f
    log_mark
    mount_fg "$WORK/$name" "$WORK/mnt" --read-only
    log_since | grep -F "$WORK/$name" | grep -qE "(corrupt|truncated).* at compressed offset [0-9]+" ||
        die "$name ($kind): no log line names the archive and the compressed offset: $(log_since)"
    kernel_mount "$WORK/mnt/${name%%.tar.*}.img"
    for f in $(ls "$WORK/dmg"); do
        if [ ! -e "$WORK/kernel/$f" ]; then
            missing=$((missing + 1))
        elif cmp -s "$WORK/kernel/$f" "$WORK/dmg/$f"; then
            [ $missing = 0 ] && [ $eio = 0 ] || die "$name: $f reads whole after a file left out or unreadable"
            good=$((good + 1))
        else
            cat "$WORK/kernel/$f" >/dev/null 2>"$WORK/cat.err" && die "$name: $f reads without error but differs from the source"
            grep -qF "Input/output error" "$WORK/cat.err" || die "$name: the read of $f failed, not with EIO: $(cat "$WORK/cat.err")"
            [ $missing = 0 ] || die "$name: $f is present after a file left out"
            eio=$((eio + 1))
        fi
    done
    [ $good -ge "$min_good" ] && [ $eio -le "$max_eio" ] && { [ $good -lt 24 ] || [ "$min_good" = 24 ]; } ||
        die "$name ($kind): $good files whole, $eio with EIO, $missing left out (want >= $min_good whole, <= $max_eio EIO, not all whole)"
    [ $missing = 0 ] || log_since | grep -qF "tar archive $WORK/$name: the members from archive offset" ||
        die "$name: files are left out, yet no warning says so: $(log_since)"
    kernel_unmount
    kill -0 "$MOUNT_PID" || die "the daemon of $name died"
    unmount_fg "$WORK/mnt"
    echo "ok: $name ($kind): $good files read whole, $eio give EIO, $missing left out, logged"
}
for name in dmg.tar.xz dmg.tar.bz2 dmg.tar.zst dmg.tar.gz; do
    zsize=$(stat -c %s "$WORK/$name")
    cp -p "$WORK/$name" "$WORK/bad-$name"
    corrupt_at "$WORK/bad-$name" $((zsize / 2))
    [ $name = dmg.tar.gz ] && continue
    check_damaged "bad-$name" "a byte flipped at compressed offset $((zsize / 2))" 4 1
done
# The flipped gzip member: deflate's codes often resynchronise after a
# flipped byte, and only the member's CRC-32 at its end tells; when the
# flip breaks the decoding itself, where it went wrong cannot be told
# either. Nothing of the one-member archive can be trusted: refused.
expect_status "$EXIT_REFUSED" "tar archive $WORK/bad-dmg.tar.gz: nothing of it can be read: gzip stream of $WORK/bad-dmg.tar.gz is corrupt at compressed offset" \
    "$VDISKFS" mount --read-only "$WORK/bad-dmg.tar.gz" "$WORK/mnt"
grep -qE "CRC-32|checked only at its end" <<<"$OUT" || die "the refusal of bad-dmg.tar.gz does not say why: $OUT"
mountpoint -q "$WORK/mnt" && die "bad-dmg.tar.gz was refused, yet $WORK/mnt is mounted"
for name in dmg.tar.gz dmg.tar.zst dmg.tar.xz; do
    head -c $(($(stat -c %s "$WORK/$name") / 2)) "$WORK/$name" >"$WORK/cut-$name"
    check_damaged "cut-$name" "cut in half" 8 1
done
# Damage that touches no file's bytes: garbage after the last gzip member,
# a gzip or zstd file cut inside its last trailer or checksum, a bzip2 file
# cut inside its end-of-stream marker. Every file reads whole.
{ cat "$WORK/dmg.tar.gz"; printf 'not gzip at all'; } >"$WORK/tail-dmg.tar.gz"
check_damaged tail-dmg.tar.gz "garbage after the last member" 24 0
for cut in dmg.tar.gz:4 dmg.tar.zst:2 dmg.tar.bz2:5; do
    name=${cut%%:*} n=${cut##*:}
    head -c $(($(stat -c %s "$WORK/$name") - n)) "$WORK/$name" >"$WORK/end-$name"
    check_damaged "end-$name" "the last $n bytes cut" 24 0
done
# A damaged header of a later gzip member or xz stream: the members or
# streams before passed their checks and read whole (11 files lie wholly in
# the first 12 MiB), the file running on into the damaged one gives EIO.
head -c 12M "$WORK/dmg.tar" >"$WORK/half1"
tail -c +$((12 * 1048576 + 1)) "$WORK/dmg.tar" >"$WORK/half2"
{ gzip -c "$WORK/half1"; gzip -c "$WORK/half2"; } >"$WORK/two-dmg.tar.gz"
corrupt_at "$WORK/two-dmg.tar.gz" $(($(gzip -c "$WORK/half1" | wc -c) + 2))  # CM, the compression method
{ xz -c "$WORK/half1"; xz -c "$WORK/half2"; } >"$WORK/two-dmg.tar.xz"
corrupt_at "$WORK/two-dmg.tar.xz" $(($(xz -c "$WORK/half1" | wc -c) + 7))  # the stream flags
rm "$WORK/half1" "$WORK/half2"
# A deflate error in a one-member gzip (an invalid block 3 MiB in): a
# member is checked only at its end, and damaged deflate data often decodes
# on for a while before an error shows, so none of it can be trusted: the
# archive is refused, saying so.
python3 - "$WORK/dmg.tar" "$WORK/early-dmg.tar.gz" <<'PY' || die "cannot make early-dmg.tar.gz"
import sys, zlib
data = open(sys.argv[1], "rb").read()
z = zlib.compressobj(6, zlib.DEFLATED, 31)
out, mark = bytearray(), 0
for i in range(0, len(data), 1 << 20):
    out += z.compress(data[i:i + (1 << 20)]) + z.flush(zlib.Z_FULL_FLUSH)
    if i == 2 << 20:
        mark = len(out)  # a deflate block starts here, byte-aligned, at 3 MiB of output
out += z.flush()
out[mark] = 0x07  # BFINAL 1, BTYPE 11: "invalid block type" (RFC 1951 section 3.2.3)
open(sys.argv[2], "wb").write(out)
PY
expect_status "$EXIT_REFUSED" "tar archive $WORK/early-dmg.tar.gz: nothing of it can be read: gzip stream of $WORK/early-dmg.tar.gz is corrupt at compressed offset" \
    "$VDISKFS" mount --read-only "$WORK/early-dmg.tar.gz" "$WORK/mnt"
grep -qF "invalid block type (a gzip member is checked only at its end" <<<"$OUT" || die "the refusal of early-dmg.tar.gz does not say why: $OUT"
mountpoint -q "$WORK/mnt" && die "early-dmg.tar.gz was refused, yet $WORK/mnt is mounted"
check_damaged two-dmg.tar.gz "the second member's header damaged" 11 1
check_damaged two-dmg.tar.xz "the second stream's header damaged" 11 1
# A zstd stream without content checksums mounts, with a warning that
# damage in it cannot be detected.
zstd -q --no-check -c "$WORK/dmg.tar" >"$WORK/nocheck-dmg.tar.zst"
log_mark
mount_fg "$WORK/nocheck-dmg.tar.zst" "$WORK/mnt" --read-only
log_since | grep -F "$WORK/nocheck-dmg.tar.zst" | grep -qF "1 of its zstd frames carry no content checksum" ||
    die "no warning about a zstd stream without checksums: $(log_since)"
unmount_fg "$WORK/mnt"
echo "ok: a zstd stream made with --no-check mounts with a warning"
# --strict refuses a damaged archive; one damaged before its first member
# is refused saying nothing of it can be read.
expect_status "$EXIT_REFUSED" "--strict refuses it" "$VDISKFS" mount --read-only --strict "$WORK/cut-dmg.tar.gz" "$WORK/mnt"
head -c 40 "$WORK/dmg.tar.gz" >"$WORK/stub.tar.gz"
expect_status "$EXIT_REFUSED" "tar archive $WORK/stub.tar.gz: nothing of it can be read: gzip stream of $WORK/stub.tar.gz is corrupt at compressed offset" \
    "$VDISKFS" mount --read-only "$WORK/stub.tar.gz" "$WORK/mnt"
mountpoint -q "$WORK/mnt" && die "a refused archive left $WORK/mnt mounted"

# Damage after the mount (a bad sector, a rewrite that kept size and mtime):
# the decoded pages still in memory keep serving; a read that must decode
# the damaged part again fails with EIO and a log line, the daemon stays.
cp -p "$WORK/src-gzip.tar.gz" "$WORK/late.tar.gz"
mount_fg "$WORK/late.tar.gz" "$WORK/mnt" --read-only
zsize=$(stat -c %s "$WORK/late.tar.gz")
corrupt_at "$WORK/late.tar.gz" $((zsize / 4))
touch -r "$WORK/src-gzip.tar.gz" "$WORK/late.tar.gz"
log_mark
if cmp "$WORK/mnt/late.img" "$WORK/ref.img" 2>"$WORK/cmp.err"; then die "a read through the damaged stream succeeded"; fi
grep -qF "Input/output error" "$WORK/cmp.err" || die "the damaged read did not fail with EIO: $(cat "$WORK/cmp.err")"
log_since | grep -F "$WORK/late.tar.gz" | grep -qiE "corrupt|differs" || die "no log line names the damaged archive: $(log_since)"
kill -0 "$MOUNT_PID" || die "the daemon died on a damaged stream"
dd if="$WORK/mnt/late.img" of=/dev/null bs=64K count=1 status=none || die "the mount no longer answers after the damage"
unmount_fg "$WORK/mnt"
echo "ok: a stream damaged after the mount: EIO, logged with the archive, the daemon stayed up"
# The vdiskfs log holds the expected error lines of the damage test only.
: >"$WORK/vdiskfs.log"

for name in "${!sums[@]}"; do
    [ "${sums[$name]}" = "$(sha256sum <"$WORK/$name")" ] || die "$name changed"
done
[ "$before" = "$("$TREETOOL" hash "$WORK/src")" ] || die "the source tree changed"
echo "PASS compressed_test"
