#!/bin/bash
# Layout options and identity: --uuid and --label reach the ext4
# superblock; --free sizes the volume; the same source gives the same disk
# byte for byte on a remount, another source a different UUID.
source "$(dirname "$0")/lib.sh"
require_root
for t in "fusermount3 fuse3" "partx util-linux" "dumpe2fs e2fsprogs" "e2fsck e2fsprogs" "losetup mount" \
         "$VDISKFS vdiskfs(build)" "$TREETOOL treetool(build)"; do require $t; done
make_work
mkdir -p "$WORK/a/dir" "$WORK/b" "$WORK/mnt"
random_bytes 5000000 >"$WORK/a/dir/data"
echo other >"$WORK/b/file"

uuid=5d1b7c3e-2f4a-4c5e-9a7b-0c1d2e3f4a5b
mount_fg "$WORK/a" "$WORK/mnt" --uuid "$uuid" --label web01-root --free 1G --min-free 0
[ "$(image_sb_field "$WORK/mnt/a.img" "Filesystem UUID")" = "$uuid" ] || die "--uuid not applied"
[ "$(image_sb_field "$WORK/mnt/a.img" "Filesystem volume name")" = "web01-root" ] || die "--label not applied"
free_blocks=$(image_sb_field "$WORK/mnt/a.img" "Free blocks")
((free_blocks * 4096 >= 1073741824 && free_blocks * 4096 < 1073741824 + 200 * 1048576)) ||
    die "--free 1G gave $free_blocks free blocks"
echo "ok: uuid, label, free space ($free_blocks blocks)"
unmount_fg "$WORK/mnt"

mount_fg "$WORK/a" "$WORK/mnt"
sha1=$(sha256sum <"$WORK/mnt/a.img")
uuid_a=$(image_sb_field "$WORK/mnt/a.img" "Filesystem UUID")
unmount_fg "$WORK/mnt"
mount_fg "$WORK/a" "$WORK/mnt"
sha2=$(sha256sum <"$WORK/mnt/a.img")
unmount_fg "$WORK/mnt"
[ "$sha1" = "$sha2" ] || die "two mounts of the same source gave different disks"
mount_fg "$WORK/b" "$WORK/mnt"
uuid_b=$(image_sb_field "$WORK/mnt/b.img" "Filesystem UUID")
unmount_fg "$WORK/mnt"
[ "$uuid_a" != "$uuid_b" ] || die "different sources got the same UUID $uuid_a"
echo "ok: same source -> same bytes; other source -> other UUID ($uuid_a vs $uuid_b)"
# The root entry of the source's own /etc/fstab names the filesystem.
mkdir -p "$WORK/withfstab/etc"
echo "UUID=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d / ext4 defaults 0 1" >"$WORK/withfstab/etc/fstab"
mount_fg "$WORK/withfstab" "$WORK/mnt"
[ "$(image_sb_field "$WORK/mnt/withfstab.img" "Filesystem UUID")" = 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d ] ||
    die "the UUID of etc/fstab's root entry was not used"
unmount_fg "$WORK/mnt"
mount_fg "$WORK/withfstab" "$WORK/mnt" --no-fstab-identity
[ "$(image_sb_field "$WORK/mnt/withfstab.img" "Filesystem UUID")" != 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d ] ||
    die "--no-fstab-identity still used etc/fstab"
unmount_fg "$WORK/mnt"
echo "ok: UUID from etc/fstab, --no-fstab-identity"

# A large free space makes the inode tables span several groups, across
# the superblock backups of groups 1 and 3: still clean, still equal.
bash "$TESTS_DIR/gen_tree.sh" small "$WORK/tree"
mkdir "$WORK/kernel"
mount_fg "$WORK/tree" "$WORK/mnt" --free 100G
kernel_mount --fsck "$WORK/mnt/tree.img"
"$TREETOOL" compare "$WORK/tree" "$WORK/kernel" --ignore lost+found || die "kernel view differs with --free 100G"
kernel_unmount
unmount_fg "$WORK/mnt"
# --bios-boot: a valid GPT with the ext4 still entry 1 at 1 MiB, and a
# 1 MiB BIOS boot partition (EF02) as entry 2 that reads as zeros.
mount_fg "$WORK/tree" "$WORK/mnt" --bios-boot --read-only
img=$WORK/mnt/tree.img
out=$(sgdisk -v "$img") && grep -q "No problems found" <<<"$out" || die "sgdisk -v with --bios-boot: $out"
[ "$(sgdisk -i 1 "$img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')" = 2048 ] || die "--bios-boot moved the ext4 partition"
info=$(sgdisk -i 2 "$img")
grep -q "21686148-6449-6E6F-744E-656564454649" <<<"$info" || die "entry 2 is not a BIOS boot partition: $info"
grep -q "Partition size: 2048 sectors" <<<"$info" || die "the BIOS boot partition is not 1 MiB: $info"
bb_start=$(sgdisk -i 2 "$img" | sed -n 's/^First sector: \([0-9]*\).*/\1/p')
[ "$(dd if="$img" bs=512 skip="$bb_start" count=2048 status=none | tr -d '\0' | wc -c)" = 0 ] ||
    die "the BIOS boot partition does not read as zeros"
dev=$(attach_partition "$img")
expect_clean_fsck "$dev"
detach "$dev"
unmount_fg "$WORK/mnt"
echo "ok: --bios-boot adds an empty 1 MiB BIOS boot partition as GPT entry 2"
echo "PASS layout_options_test"
