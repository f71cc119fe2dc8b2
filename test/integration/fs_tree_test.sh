#!/bin/bash
# Mounts a generated tree (KIND: small or full) and judges the disk with
# independent tools: the GPT's own headers (backup at the last sector),
# sgdisk -v, QEMU's format probe, e2fsck -fn on the partition, the kernel's
# ext4 mounted read-only over the FUSE file and compared entry by entry with
# the source, and the mounted image read with O_DIRECT against the same
# disk written by `vdiskfs export`; the source hash must not change.
# With a second argument (gnu or posix), the tree is packed with GNU tar in
# that format and the tar is mounted instead; the archive's own headers must
# show the format (gnu: old-GNU long names, long links, sparse maps and
# base-256 numbers; posix: pax records), the disk must still equal the
# directory, and the archive must not change.
source "$(dirname "$0")/lib.sh"
KIND=${1:?usage: fs_tree_test.sh small|full [gnu|posix]}
TAR_FORMAT=${2:-}

case $TAR_FORMAT in "" | gnu | posix) ;; *) die "unknown tar format '$TAR_FORMAT' (gnu or posix)" ;; esac

require_root
for t in "qemu-img qemu-utils" "getfattr attr" "e2fsck e2fsprogs" "sgdisk gdisk" "partx util-linux" \
         "losetup mount" "fusermount3 fuse3" "python3 python3" "cmp diffutils" \
         "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do
    require $t
done

# tar_headers ARCHIVE: walks every header of ARCHIVE (skipping data, GNU
# sparse extension blocks included) and prints KEY=VALUE counts: header
# types, magics, base-256 numbers, sparse maps with extension blocks, pax
# records of xattrs and sparse files.
tar_headers() {
    python3 - "$1" <<'PY'
import sys
n = dict.fromkeys(["headers", "magic_gnu", "magic_posix", "magic_other", "L", "K", "S", "x", "g",
                   "S_extended", "S_base256", "base256", "x_xattr", "x_sparse"], 0)
def number(field):  # octal, or GNU base-256 (high bit of the first byte set)
    if field[0] & 0x80:
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big"), True
    text = field.split(b"\0")[0].strip(b" ")
    return (int(text, 8) if text else 0), False
def any_base256(block, offsets):
    return any(block[o] & 0x80 for o in offsets)
with open(sys.argv[1], "rb") as f:
    while True:
        at = f.tell()
        h = f.read(512)
        if len(h) < 512:
            sys.exit(f"truncated header at offset {at}")
        if h == bytes(512):
            break
        n["headers"] += 1
        magic = h[257:265]
        gnu = magic == b"ustar  \0"
        n["magic_gnu" if gnu else "magic_posix" if magic == b"ustar\x0000" else "magic_other"] += 1
        kind = chr(h[156]) if h[156] else "0"
        if kind in "LKSxg":
            n[kind] += 1
        # mode, uid, gid, size, mtime, devmajor, devminor; GNU adds atime, ctime, offset, realsize.
        fields = [100, 108, 116, 124, 136, 329, 337] + ([345, 357, 369, 483] if gnu else [])
        b256 = any_base256(h, fields)
        size, _ = number(h[124:136])
        if kind == "S":
            sparse = [386 + 24 * i + d for i in range(4) for d in (0, 12)] + [483]
            s256 = any_base256(h, sparse)
            extended = h[482]
            n["S_extended"] += bool(extended)
            while extended:  # 21 (offset, numbytes) pairs, then the isextended flag at 504
                e = f.read(512)
                if len(e) < 512:
                    sys.exit(f"truncated sparse extension after the header at offset {at}")
                s256 = s256 or any_base256(e, [24 * i + d for i in range(21) for d in (0, 12)])
                extended = e[504]
            n["S_base256"] += s256
            b256 = b256 or s256
        n["base256"] += b256
        padded = (size + 511) // 512 * 512
        if kind == "x":
            records = f.read(padded)[:size]
            n["x_xattr"] += b" SCHILY.xattr." in records
            n["x_sparse"] += b" GNU.sparse.major=" in records
        else:
            f.seek(padded, 1)
for key, value in n.items():
    print(f"{key}={value}")
PY
}

# check_tar_format ARCHIVE: the archive's headers must be those of
# $TAR_FORMAT, so that the mount reads what the run is named after.
check_tar_format() {
    local -A h
    local key value out
    out=$(tar_headers "$1") || die "cannot walk the headers of $1: $out"
    while IFS== read -r key value; do h[$key]=$value; done <<<"$out"
    echo "tar headers of $1: $(tr '\n' ' ' <<<"$out")"
    if [ "$TAR_FORMAT" = gnu ]; then
        [ "${h[magic_gnu]}" -eq "${h[headers]}" ] || die "$1 is not all GNU: ${h[magic_posix]} ustar/pax and ${h[magic_other]} other magics among ${h[headers]} headers"
        [ "${h[x]}" -eq 0 ] && [ "${h[g]}" -eq 0 ] || die "$1 is not GNU: it has ${h[x]} pax 'x' and ${h[g]} 'g' headers"
        [ "${h[L]}" -gt 0 ] || die "$1 has no GNU long-name ('L', ././@LongLink) header"
        # gen_tree.sh's links/long1000 points to a 1000-byte target.
        [ "${h[K]}" -gt 0 ] || die "$1 has no GNU long-link ('K') header"
        [ "${h[S]}" -gt 0 ] || die "$1 has no old-GNU sparse ('S') header"
        # The small tree's times before 1970; the full tree's 1 TiB sparse file besides.
        [ "${h[base256]}" -gt 0 ] || die "$1 has no base-256 number"
        if [ "$KIND" = full ]; then
            [ "${h[S_extended]}" -gt 0 ] || die "$1 has no old-GNU sparse map with extension blocks (fragmented2000)"
            [ "${h[S_base256]}" -gt 0 ] || die "$1 has no base-256 number in a sparse map (sparse1t is 1 TiB)"
        fi
    else
        [ "${h[magic_posix]}" -eq "${h[headers]}" ] || die "$1 is not all POSIX: ${h[magic_gnu]} GNU and ${h[magic_other]} other magics among ${h[headers]} headers"
        [ "${h[L]}" -eq 0 ] && [ "${h[K]}" -eq 0 ] && [ "${h[S]}" -eq 0 ] || die "$1 has GNU headers: ${h[L]} L, ${h[K]} K, ${h[S]} S"
        [ "${h[x]}" -gt 0 ] || die "$1 has no pax 'x' header"
        [ "${h[x_xattr]}" -gt 0 ] || die "$1 has no SCHILY.xattr pax record"
        [ "${h[x_sparse]}" -gt 0 ] || die "$1 has no GNU.sparse pax record"
    fi
}

# floor_mtimes DIR: rounds the mtime of every entry of DIR down to the whole
# second (toward the past, as GNU tar does for -0.25 s), keeping atimes.
floor_mtimes() {
    python3 - "$1" <<'PY' || die "cannot round the mtimes of $1 down"
import os, sys
def floor(path):
    st = os.lstat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - st.st_mtime_ns % 10**9), follow_symlinks=False)
for top, dirs, files in os.walk(sys.argv[1]):
    for name in dirs + files:
        floor(os.path.join(top, name))
floor(sys.argv[1])
PY
}

make_work
bash "$TESTS_DIR/gen_tree.sh" "$KIND" "$WORK/src"
source_of_disk=$WORK/src
if [ -n "$TAR_FORMAT" ]; then
    require tar tar
    # tar cannot hold a socket ("socket ignored"): leave it out of the reference.
    rm "$WORK/src/special/socket"
    # --xattrs makes GNU tar write pax whatever --format says: the gnu run
    # goes without (its disk must then carry no xattrs), the posix run with.
    # GNU headers hold whole seconds: the reference's mtimes are rounded
    # down as GNU tar rounds them, so that the comparison stays exact.
    xattr_opts=()
    if [ "$TAR_FORMAT" = posix ]; then
        xattr_opts=(--xattrs --xattrs-include='*')
    else
        floor_mtimes "$WORK/src"
    fi
    tar --format="$TAR_FORMAT" "${xattr_opts[@]}" --sparse --numeric-owner --atime-preserve=system \
        -C "$WORK/src" -cf "$WORK/src.tar" . || die "tar failed"
    source_of_disk=$WORK/src.tar
    tar_before=$(sha256sum <"$WORK/src.tar")
    echo "packed as $TAR_FORMAT tar: $(stat -c %s "$WORK/src.tar") bytes"
    check_tar_format "$WORK/src.tar"
fi
# Extended attributes of the source, read before the hash (listing moves
# directory atimes).
xattrs_of() { (cd "$1" && find xattrs | sort | xargs getfattr -d -m - --absolute-names 2>/dev/null); }
src_xattrs=$(xattrs_of "$WORK/src")
[ -n "$src_xattrs" ] || die "the test tree has no xattrs"
before=$("$TREETOOL" hash "$WORK/src")

# The disk as `vdiskfs export` writes it (no FUSE, no delta), for the
# O_DIRECT comparison below. Exported through a read-only bind mount of the
# source over itself: readlink(2) moves a symlink's atime (under relatime at
# every read for a link whose mtime is in the future, like links/long1000),
# and the mount must scan the atimes the export saw.
mount --bind "$WORK/src" "$WORK/src" || die "cannot bind-mount $WORK/src over itself"
CLEANUP_MOUNTS+=("$WORK/src")
mount -o remount,bind,ro "$WORK/src" || die "cannot make the bind mount of $WORK/src read-only"
"$VDISKFS" export -q "$source_of_disk" "$WORK/export.img" || die "vdiskfs export $source_of_disk failed"
umount "$WORK/src" || die "cannot unmount the read-only bind mount of $WORK/src"

mkdir "$WORK/mnt" "$WORK/kernel"
mount_fg "$source_of_disk" "$WORK/mnt"
img=$WORK/mnt/src.img
[ -f "$img" ] || die "$img is not exposed; mount shows: $(ls -la "$WORK/mnt")"

out=$(sgdisk -v "$img") || die "sgdisk -v failed: $out"
grep -q "No problems found" <<<"$out" || die "sgdisk -v: $out"
echo "sgdisk: no problems"
# The GPT's own headers (CRCs computed here, not by sgdisk): the primary
# names the image's last sector as its backup's, which points back.
out=$(python3 "$TESTS_DIR/../tools/gpt_check.py" "$img" 2>&1) || die "GPT of $img: $out"
[ "$out" = "$(stat -c %s "$img")" ] || die "the GPT of $img gives $out bytes, the file has $(stat -c %s "$img")"
echo "GPT: primary and backup headers valid, $out bytes"
# Without -f, QEMU probes the format itself: a .img must be plain raw.
out=$(qemu-img info --output=json "$img") || die "qemu-img info failed: $out"
grep -q '"format": "raw"' <<<"$out" || die "qemu-img does not probe $img as raw: $out"
echo "qemu-img info: probed as raw"

kernel_mount --fsck "$img"
"$TREETOOL" compare "$WORK/src" "$WORK/kernel" --ignore lost+found || die "kernel view differs from the source"
[ -d "$WORK/kernel/lost+found" ] || die "lost+found missing"
# Extended attributes, as the kernel's ext4 reports them.
if [ "$TAR_FORMAT" = gnu ]; then
    # The gnu archive holds no xattrs (see above): the disk must carry none, anywhere.
    out=$(cd "$WORK/kernel" && getfattr -R -P -h -d -m - . 2>&1) || die "getfattr -R over the kernel's view failed: $out"
    [ -z "$out" ] || die "the gnu archive has no xattrs, yet the disk carries: $out"
    echo "xattrs: none on the disk, as in the gnu archive"
else
    [ "$src_xattrs" = "$(xattrs_of "$WORK/kernel")" ] ||
        die "xattrs differ: $(diff <(echo "$src_xattrs") <(xattrs_of "$WORK/kernel"))"
    echo "xattrs: equal (security.capability, user.*, sets that need an xattr block, POSIX ACLs)"
fi
kernel_unmount

# Every byte of the mounted image, read with O_DIRECT (no page cache),
# against the disk `vdiskfs export` wrote before the mount.
out=$(cmp <(dd if="$img" iflag=direct bs=1M status=none) "$WORK/export.img" 2>&1) ||
    die "the mounted $img (O_DIRECT) differs from vdiskfs export's image: $out"
echo "O_DIRECT read of the mount: identical to vdiskfs export ($(stat -c %s "$WORK/export.img") bytes)"
rm -f "$WORK/export.img"

unmount_fg "$WORK/mnt"
grep -q "error" "$WORK/vdiskfs.log" && die "vdiskfs logged errors: $(cat "$WORK/vdiskfs.log")"
after=$("$TREETOOL" hash "$WORK/src")
[ "$before" = "$after" ] || die "the source tree changed: hash $before -> $after"
echo "source unchanged ($after)"
if [ -n "$TAR_FORMAT" ]; then
    [ "$tar_before" = "$(sha256sum <"$WORK/src.tar")" ] || die "the tar archive changed"
    echo "tar archive unchanged"
fi
echo "PASS fs_tree_test $KIND $TAR_FORMAT"
