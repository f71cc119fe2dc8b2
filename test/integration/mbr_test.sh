#!/bin/bash
# --table mbr: an MBR disk judged by tools vdiskfs did not make, for an
# ext4 and a FAT32 volume: sfdisk --verify finds it clean; sfdisk --dump
# shows one bootable partition at sector 2048 of type 83 (ext4) or c
# (FAT32 LBA) and the disk signature blkid reads as PTUUID; the partition
# that partx finds is a clean filesystem (e2fsck -fn, fsck.fat -n) of the
# type blkid -p reads; the .vmdk holds the same disk as the .img. Refused:
# --bios-boot with MBR, and a table vdiskfs does not write.
source "$(dirname "$0")/lib.sh"
require_root
for t in "fusermount3 fuse3" "sfdisk fdisk" "partx util-linux" "blkid util-linux" "losetup mount" \
         "e2fsck e2fsprogs" "fsck.fat dosfstools" "qemu-img qemu-utils" "jq jq" \
         "$VDISKFS vdiskfs(build)" "$TREETOOL treetool(build)"; do require $t; done
make_work
src=$WORK/srv
mnt=$WORK/mnt
mkdir -p "$mnt" "$src/etc" "$src/data/deep"
random_bytes 300000 >"$src/data/blob.bin"
random_bytes 4097 >"$src/data/deep/odd-size"
echo "hello" >"$src/etc/motd"
"$TREETOOL" hash "$src" >"$WORK/src.before"

expect_status $EXIT_REFUSED "--bios-boot is for GPT disks" "$VDISKFS" info --table mbr --bios-boot "$src"
expect_status $EXIT_REFUSED "unknown partition table 'nope' (vdiskfs writes gpt, mbr)" \
    "$VDISKFS" info --table nope "$src"

# check_mbr_disk IMAGE TYPE: sfdisk finds the MBR clean, with one bootable
# partition of TYPE (sfdisk's hex) at sector 2048 and the disk signature
# that blkid reads; prints the partition's loop device.
check_mbr_disk() {
    local img=$1 type=$2 dump ptuuid
    sfdisk --verify "$img" >"$WORK/verify" 2>&1 || die "sfdisk --verify $img: $(cat "$WORK/verify")"
    grep -q "No errors detected" "$WORK/verify" || die "sfdisk --verify $img: $(cat "$WORK/verify")"
    dump=$(sfdisk --dump "$img")
    grep -qx "label: dos" <<<"$dump" || die "sfdisk --dump $img: not a dos label: $dump"
    grep -qE "^$img""1 : start= +2048, size= +[0-9]+, type=$type, bootable$" <<<"$dump" ||
        die "sfdisk --dump $img: partition 1 is not type $type at 2048, bootable: $dump"
    [ "$(grep -c "^$img" <<<"$dump")" -eq 1 ] || die "sfdisk --dump $img: more than one partition: $dump"
    ptuuid=$(blkid -p -o value -s PTUUID "$img")
    [[ $ptuuid =~ ^[0-9a-f]{8}$ ]] || die "blkid -p $img: PTUUID '$ptuuid' is not a disk signature"
    grep -qx "label-id: 0x$ptuuid" <<<"$dump" || die "sfdisk's label-id is not blkid's PTUUID $ptuuid: $dump"
    [ "$ptuuid" != 00000000 ] || die "$img has no disk signature"
    echo "ok: $img: sfdisk --verify clean, type $type at 2048, bootable, signature $ptuuid" >&2
    attach_partition "$img"
}

# fs_type DEVICE: blkid -p's TYPE of DEVICE.
fs_type() {
    blkid -p -o value -s TYPE "$1"
}

# check_same_vmdk MOUNTPOINT NAME: NAME.vmdk holds the same disk as NAME.img.
check_same_vmdk() {
    qemu-img compare -q -f raw -F vmdk "$1/$2.img" "$1/$2.vmdk" || die "$2.vmdk differs from $2.img"
    echo "ok: $2.vmdk holds the same disk as $2.img"
}

# ext4 on MBR.
mount_fg "$src" "$mnt" --table mbr --read-only
dev=$(check_mbr_disk "$mnt/srv.img" 83)
CLEANUP_LOOPS+=("$dev")
[ "$(fs_type "$dev")" = ext4 ] || die "blkid -p $dev: TYPE $(fs_type "$dev"), expected ext4"
expect_clean_fsck "$dev"
detach "$dev"
check_same_vmdk "$mnt" srv
# The disk signature is the disk's identity: the same source gives the same one.
sig=$(blkid -p -o value -s PTUUID "$mnt/srv.img")
unmount_fg "$mnt"
"$VDISKFS" export --quiet --table mbr "$src" "$WORK/again.img"
[ "$(blkid -p -o value -s PTUUID "$WORK/again.img")" = "$sig" ] || die "the disk signature changed between builds"
rm -f "$WORK/again.img"

# FAT32 on MBR.
mount_fg "$src" "$mnt" --table mbr --fs fat32 --read-only
dev=$(check_mbr_disk "$mnt/srv.img" c)
CLEANUP_LOOPS+=("$dev")
[ "$(fs_type "$dev")" = vfat ] || die "blkid -p $dev: TYPE $(fs_type "$dev"), expected vfat"
out=$(fsck.fat -n -v "$dev" 2>&1) || die "fsck.fat -n exited $?: $out"
grep -qiE "fix|differ|invalid|bad|lost|\?" <<<"$out" && die "fsck.fat -n reported problems: $out"
echo "ok: fsck.fat -n clean: $(tail -1 <<<"$out")"
detach "$dev"
check_same_vmdk "$mnt" srv
unmount_fg "$mnt"

"$TREETOOL" hash "$src" >"$WORK/src.after"
cmp -s "$WORK/src.before" "$WORK/src.after" || die "the source changed"
echo "PASS: mbr_test"
