#!/bin/bash
# Mounts a generated tree (KIND: small or full) and judges the disk with
# independent tools: sgdisk -v, qemu-img info/convert/compare, e2fsck -fn on
# the partition, the kernel's ext4 mounted read-only over the FUSE file and
# compared entry by entry with the source; the source hash must not change.
# With a second argument (gnu or posix), the tree is packed with GNU tar in
# that format and the tar is mounted instead; the disk must still equal the
# directory, and the archive must not change.
source "$(dirname "$0")/lib.sh"
KIND=${1:?usage: fs_tree_test.sh small|full [gnu|posix]}
TAR_FORMAT=${2:-}

require_root
for t in "qemu-img qemu-utils" "getfattr attr" "e2fsck e2fsprogs" "sgdisk gdisk" "partx util-linux" \
         "losetup mount" "fusermount3 fuse3" "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
bash "$TESTS_DIR/gen_tree.sh" "$KIND" "$WORK/src"
source_of_disk=$WORK/src
if [ -n "$TAR_FORMAT" ]; then
    require tar tar
    # tar cannot hold a socket ("socket ignored"): leave it out of the reference.
    rm "$WORK/src/special/socket"
    tar --format="$TAR_FORMAT" --xattrs --xattrs-include='*' --sparse --numeric-owner --atime-preserve=system \
        -C "$WORK/src" -cf "$WORK/src.tar" . || die "tar failed"
    source_of_disk=$WORK/src.tar
    tar_before=$(sha256sum <"$WORK/src.tar")
    echo "packed as $TAR_FORMAT tar: $(stat -c %s "$WORK/src.tar") bytes"
fi
# Extended attributes of the source, read before the hash (listing moves
# directory atimes).
xattrs_of() { (cd "$1" && find xattrs | sort | xargs getfattr -d -m - --absolute-names 2>/dev/null); }
src_xattrs=$(xattrs_of "$WORK/src")
[ -n "$src_xattrs" ] || die "the test tree has no xattrs"
before=$("$TREETOOL" hash "$WORK/src")

mkdir "$WORK/mnt" "$WORK/kernel"
mount_fg "$source_of_disk" "$WORK/mnt"
img=$WORK/mnt/src.img
[ -f "$img" ] || die "$img is not exposed; mount shows: $(ls -la "$WORK/mnt")"

out=$(sgdisk -v "$img") || die "sgdisk -v failed: $out"
grep -q "No problems found" <<<"$out" || die "sgdisk -v: $out"
echo "sgdisk: no problems"
size=$(stat -c %s "$img")
out=$(qemu-img info --output=json "$img") || die "qemu-img info failed: $out"
grep -q "\"virtual-size\": $size," <<<"$out" || die "qemu-img info disagrees on the size $size: $out"
echo "qemu-img info: virtual size $size"

dev=$(attach_partition "$img")
expect_clean_fsck "$dev"
mount -t ext4 -o ro "$dev" "$WORK/kernel"
CLEANUP_MOUNTS+=("$WORK/kernel")
"$TREETOOL" compare "$WORK/src" "$WORK/kernel" --ignore lost+found || die "kernel view differs from the source"
[ -d "$WORK/kernel/lost+found" ] || die "lost+found missing"
# Extended attributes, as the kernel's ext4 reports them.
[ "$src_xattrs" = "$(xattrs_of "$WORK/kernel")" ] ||
    die "xattrs differ: $(diff <(echo "$src_xattrs") <(xattrs_of "$WORK/kernel"))"
echo "xattrs: equal (security.capability, user.*, sets that need an xattr block, POSIX ACLs)"
umount "$WORK/kernel"
detach "$dev"

# A new user's first conversion: qemu-img convert to qcow2 reads every byte.
qemu-img convert -O qcow2 "$img" "$WORK/copy.qcow2"
qemu-img compare -q "$img" "$WORK/copy.qcow2" || die "qemu-img compare: qcow2 copy differs"
echo "qemu-img convert/compare: identical"
rm -f "$WORK/copy.qcow2"

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
