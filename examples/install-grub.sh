#!/bin/bash
# Makes a mounted vdiskfs disk boot on its own (BIOS, no -kernel): writes
# GRUB into it. Everything written lands in the mount's delta; the backup
# is never touched.
#
#   examples/install-grub.sh MOUNTPOINT/NAME.img [KERNEL ARGS...]
#
# The disk must have been mounted writable with --bios-boot (vdiskfs adds a
# 1 MiB BIOS boot partition). The root filesystem is partition 1; the
# kernel is on the first ext4 partition holding vmlinuz-* at its top (a
# /boot of its own) or in boot/. The script puts GRUB's modules and a
# grub.cfg (newest kernel of /boot, root=UUID=<partition 1's UUID>, serial
# console) into that partition's /grub or /boot/grub, GRUB's core image
# (its prefix on that partition) into the BIOS boot partition and its boot
# code into the protective MBR, as grub-install would; grub-install itself
# cannot map a loop device's partitions to a GRUB drive on every host.
set -euo pipefail
img=${1:?usage: install-grub.sh MOUNTPOINT/NAME.img [KERNEL ARGS...]}
shift
args=${*:-console=ttyS0,115200}
grub_lib=/usr/lib/grub/i386-pc
say() { echo "install-grub: $*" >&2; }
die() { say "$*"; exit 1; }
for tool in grub-mkimage:grub-common partx:util-linux blkid:util-linux losetup:mount; do
    command -v "${tool%%:*}" >/dev/null || die "'${tool%%:*}' is missing: install the Debian package '${tool#*:}'"
done
[ -f "$grub_lib/boot.img" ] || die "$grub_lib is missing: install the Debian package 'grub-pc-bin'"
[ -w "$img" ] || die "$img is not writable: mount without --read-only"

bios_type=21686148-6449-6e6f-744e-656564454649
read -r bios_start bios_sectors < <(partx -g -o START,SECTORS,TYPE "$img" | awk -v t=$bios_type 'tolower($3) == t { print $1, $2 }') ||
    die "$img has no BIOS boot partition: mount the source with --bios-boot"
# 1. Modules and grub.cfg into the partition holding the kernel.
dir=$(mktemp -d /tmp/install-grub.XXXXXX)
loop=""
cleanup() {
    if [ -n "$loop" ]; then umount "$dir/root" 2>/dev/null; losetup -d "$loop"; fi
    rm -rf "$dir"
}
trap cleanup EXIT
mkdir "$dir/root"
# fs_tag START SECTORS TAG: blkid's TAG (TYPE, UUID) of a partition's filesystem.
fs_tag() { blkid -p -O $(($1 * 512)) -S $(($2 * 512)) -s "$3" -o value "$img" || true; }
read -r root_start root_sectors < <(partx -g -n 1 -o START,SECTORS "$img")
root_uuid=$(fs_tag "$root_start" "$root_sectors" UUID)
[ -n "$root_uuid" ] || die "no filesystem UUID on partition 1 of $img"
kernel="" part=""
while read -r nr first sectors; do
    [ "$(fs_tag "$first" "$sectors" TYPE)" = ext4 ] || continue
    loop=$(losetup -f --show -o $((first * 512)) --sizelimit $((sectors * 512)) "$img")
    mount -t ext4 -o ro "$loop" "$dir/root"
    for top in "" /boot; do
        kernel=$(ls "$dir/root$top"/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
        [ -z "$kernel" ] || break
    done
    if [ -n "$kernel" ]; then
        part=$nr boot_uuid=$(fs_tag "$first" "$sectors" UUID)
        break
    fi
    umount "$dir/root"
    losetup -d "$loop"
    loop=""
done < <(partx -g -o NR,START,SECTORS "$img")
[ -n "$kernel" ] || die "no kernel (vmlinuz-* in /boot) on any ext4 partition of $img"
version=${kernel##*/vmlinuz-}
[ -f "$dir/root$top/initrd.img-$version" ] || die "no initrd.img-$version beside vmlinuz-$version (partition $part)"
mount -o remount,rw "$dir/root"
mkdir -p "$dir/root$top/grub/i386-pc"
cp "$grub_lib"/*.mod "$grub_lib"/*.lst "$dir/root$top/grub/i386-pc/"
cat >"$dir/root$top/grub/grub.cfg" <<EOF
# Written by vdiskfs examples/install-grub.sh
set timeout=1
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
menuentry "Debian GNU/Linux, $version (restored by vdiskfs)" {
  search --no-floppy --fs-uuid --set=root $boot_uuid
  linux $top/vmlinuz-$version root=UUID=$root_uuid ro $args
  initrd $top/initrd.img-$version
}
EOF
umount "$dir/root"
losetup -d "$loop"
loop=""

# 2. GRUB's core image into the BIOS boot partition. Its first sector
# (diskboot) ends with a block list: where the rest of the core image starts.
grub-mkimage -O i386-pc -o "$dir/core.img" -p "(hd0,gpt$part)$top/grub" biosdisk part_gpt ext2
core_sectors=$((($(stat -c %s "$dir/core.img") + 511) / 512))
[ "$core_sectors" -le "$bios_sectors" ] || die "GRUB's core image ($core_sectors sectors) does not fit the BIOS boot partition"
le64() {  # 8 little-endian bytes of $1
    local i s=""
    for i in 0 1 2 3 4 5 6 7; do s+=$(printf '\\x%02x' $((($1 >> (8 * i)) & 255))); done
    printf "$s"
}
le64 $((bios_start + 1)) | dd of="$dir/core.img" bs=1 seek=$((512 - 12)) conv=notrunc status=none
dd if="$dir/core.img" of="$img" bs=512 seek="$bios_start" conv=notrunc,fsync status=none

# 3. The boot code into the MBR (its first 440 bytes; the partition table
# stays), pointing at the core image.
cp "$grub_lib/boot.img" "$dir/boot.img"
le64 "$bios_start" | dd of="$dir/boot.img" bs=1 seek=$((0x5c)) conv=notrunc status=none
dd if="$dir/boot.img" of="$img" bs=440 count=1 conv=notrunc,fsync status=none
say "GRUB installed in $img: kernel $version on partition $part, root UUID $root_uuid"
