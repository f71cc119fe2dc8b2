#!/bin/bash
# --fs fat32: a FAT32 volume (Microsoft's FAT specification) judged by
# tools vdiskfs did not make: fsck.fat -n finds nothing; mtools extracts a
# tree equal to the source (content, long and UTF-8 names, mtimes within
# FAT's 2 s); sleuthkit's fls lists every entry; blkid reads the serial
# and label; sgdisk -v finds the GPT clean with a Microsoft basic data
# partition; the .vmdk and .vhd hold the same disk as the .img. What FAT
# cannot hold fails the mount with the list, or is left out and listed
# with --skip-unsupported. The source is unchanged afterwards.
source "$(dirname "$0")/lib.sh"
# FAT holds local-less times: UTC here, so that mcopy -m (which reads them
# as local time) gives back the source's mtimes.
export TZ=UTC
require_root
for t in "fusermount3 fuse3" "partx util-linux" "blkid util-linux" "losetup mount" "sgdisk gdisk" \
         "jq jq" "fsck.fat dosfstools" "mcopy mtools" "mdir mtools" "fls sleuthkit" "qemu-img qemu-utils" \
         "python3 python3" "$VDISKFS vdiskfs(build)" "$TREETOOL treetool(build)"; do require $t; done
make_work
src=$WORK/esp
mnt=$WORK/mnt
mkdir -p "$mnt" "$src/EFI/debian" "$src/EFI/BOOT" "$src/deep/a/b/c/d" "$src/empty-dir"

# What FAT holds: long and UTF-8 names, sizes around the cluster, a sparse
# file, a hard link (two independent files), a read-only file.
random_bytes 1234567 >"$src/EFI/debian/grubx64.efi"
random_bytes 4096 >"$src/EFI/BOOT/BOOTX64.EFI"
random_bytes 4097 >"$src/deep/a/b/c/d/a file with a rather long name, spaces and dots.tar.gz"
printf x >"$src/one-byte"
random_bytes 512 >"$src/sector.bin"
: >"$src/empty"
echo "größe" >"$src/Ünïcödé-名前.txt"
truncate -s 3M "$src/sparse.bin"
random_bytes 10000 | dd of="$src/sparse.bin" bs=1 seek=1500000 conv=notrunc status=none
ln "$src/sector.bin" "$src/sector-link.bin"
echo ro >"$src/read-only.txt"
chmod 444 "$src/read-only.txt"
touch -d '2019-06-01 12:34:56' "$src/EFI/debian/grubx64.efi"
# The checks below read a copy: reading the source itself would change
# its atimes, which the before/after hash covers.
cp -a "$src" "$WORK/ref"
"$TREETOOL" hash "$src" >"$WORK/src.before"

# What FAT cannot hold: each named in the refusal.
mkdir "$WORK/bad"
cp -a "$WORK/ref/." "$WORK/bad/"
ln -s grubx64.efi "$WORK/bad/EFI/debian/link"
mkfifo "$WORK/bad/fifo"
echo a >"$WORK/bad/README"
echo b >"$WORK/bad/readme"
echo c >"$WORK/bad/what?"
expect_status $EXIT_REFUSED "FAT32 cannot hold" "$VDISKFS" info --fs fat32 "$WORK/bad"
for entry in "EFI/debian/link" "fifo" "what?" "readme"; do
    grep -qF "$entry" <<<"$OUT" || die "the refusal does not name $entry: $OUT"
done
expect_status 0 "left out" "$VDISKFS" info --fs fat32 --skip-unsupported "$WORK/bad"
expect_status $EXIT_REFUSED "is not a UUID (XXXX-XXXX)" "$VDISKFS" info --fs fat32 --uuid 5d1b7c3e-2f4a-4c5e-9a7b-0c1d2e3f4a5b "$src"
expect_status $EXIT_REFUSED "longer than FAT32's 11 bytes" "$VDISKFS" info --fs fat32 --label twelve-bytes "$src"
expect_status $EXIT_REFUSED "unknown filesystem 'xfs'" "$VDISKFS" info --fs xfs "$src"
expect_status $EXIT_REFUSED "are for --fs fat32, not ext4" "$VDISKFS" info --local-time "$src"
expect_status $EXIT_REFUSED "must be a power of two" "$VDISKFS" info --fs fat32 --cluster-size 3000 "$src"
[ "$("$VDISKFS" info -q --json --fs fat32 --cluster-size 512 "$src" | jq .fat_cluster_bytes)" = 512 ] ||
    die "--cluster-size 512 not applied"
# Local times depend on the zone, so the zone is part of the identity.
id_utc=$(TZ=UTC "$VDISKFS" info -q --json --fs fat32 --local-time "$src" | jq -r .identity)
id_tokyo=$(TZ=Asia/Tokyo "$VDISKFS" info -q --json --fs fat32 --local-time "$src" | jq -r .identity)
[ "$id_utc" != "$id_tokyo" ] || die "--local-time in two zones gave one identity ($id_utc)"

mount_fg "$src" "$mnt" --fs fat32 --uuid 5A1B-2C3D --label EFISYS --read-only
img=$mnt/esp.img
sgdisk -v "$img" | grep -q "No problems found" || die "sgdisk -v: $(sgdisk -v "$img")"
sgdisk -i 1 "$img" | grep -q "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7" ||
    die "partition 1 is not Microsoft basic data: $(sgdisk -i 1 "$img")"
dev=$(attach_partition "$img")
blk=$(blkid -p -o export "$dev")
for kv in TYPE=vfat VERSION=FAT32 UUID=5A1B-2C3D LABEL=EFISYS; do
    grep -qx "$kv" <<<"$blk" || die "blkid -p $dev lacks $kv: $blk"
done
out=$(fsck.fat -n -v "$dev" 2>&1) || die "fsck.fat -n exited $?: $out"
grep -qiE "fix|differ|invalid|bad|lost|\?" <<<"$out" && die "fsck.fat -n reported problems: $out"
echo "ok: fsck.fat -n clean: $(tail -1 <<<"$out")"
detach "$dev"

# mtools: the extracted tree equals the source (UTF-8 names need a UTF-8 locale).
offset=$(($(partx -g -n 1 -o START "$img") * 512))
LC_ALL=C.UTF-8 MTOOLS_SKIP_CHECK=1 mcopy -s -m -n -i "$img@@$offset" ::/ "$WORK/out" ||
    die "mcopy -s failed"
python3 - "$WORK/ref" "$WORK/out" <<'EOF'
import os, sys
src, out = sys.argv[1], sys.argv[2]
def walk(root):
    got = {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n)
            got[os.path.relpath(p, root)] = p
    return got
a, b = walk(src), walk(out)
if sorted(a) != sorted(b):
    sys.exit(f"FAIL: names differ: only in source {sorted(set(a) - set(b))}, only in FAT {sorted(set(b) - set(a))}")
for rel, p in a.items():
    q = b[rel]
    if os.path.isdir(p):
        continue
    if open(p, 'rb').read() != open(q, 'rb').read():
        sys.exit(f"FAIL: content of {rel} differs")
    if abs(os.stat(p).st_mtime - os.stat(q).st_mtime) > 2:
        sys.exit(f"FAIL: mtime of {rel}: {os.stat(p).st_mtime} vs {os.stat(q).st_mtime}")
print(f"ok: mcopy -s extracted {len(a)} entries equal to the source")
EOF
attrs=$(MTOOLS_SKIP_CHECK=1 mattrib -i "$img@@$offset" ::/read-only.txt)
[[ $attrs == *R* ]] || die "read-only.txt lacks the read-only attribute: $attrs"

# sleuthkit lists every entry by its long name.
fls_out=$(LC_ALL=C.UTF-8 fls -r -o $((offset / 512)) "$img")
# fls prints "+ r/r 134:<TAB>name": the whole name after the tab must match.
fls_names=$(sed 's/^[^\t]*\t//' <<<"$fls_out")
while IFS= read -r -d '' p; do
    name=$(basename "$p")
    grep -qxF -- "$name" <<<"$fls_names" || die "fls -r does not list $name"
done < <(find "$WORK/ref" -mindepth 1 -print0)
echo "ok: fls -r lists every entry"

# The containers hold the same disk as the raw image.
qemu-img compare -q -f raw -F vmdk "$img" "$mnt/esp.vmdk" || die "esp.vmdk differs from esp.img"
qemu-img compare -q -f raw -F vpc "$img" "$mnt/esp.vhd" || die "esp.vhd differs from esp.img"
echo "ok: .vmdk and .vhd hold the same disk"
unmount_fg "$mnt"

"$TREETOOL" hash "$src" >"$WORK/src.after"
cmp -s "$WORK/src.before" "$WORK/src.after" || die "the source changed"
echo "PASS: fat_test"
