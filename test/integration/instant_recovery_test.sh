#!/bin/bash
# Instant recovery, end to end: a minimal Debian server (debootstrap, cached
# per machine) shaped like a UEFI install (debian_server.sh: fstab naming
# `/` and a separate `/boot` ext4 by UUID, `/boot/efi` vfat by serial and a
# swap partition by UUID; GRUB for UEFI in the ESP) is the backup, as a
# directory and as a tar (plain, .tar.gz by pigz, .tar.zst by pzstd, read in
# place). vdiskfs makes each fstab entry its own partition.
# For each, boots it twice with examples/instant-recovery.sh (QEMU, direct
# kernel boot from the backup's /boot partition, root=UUID of partition 1,
# virtio disk from the mounted .qcow2 with aio=threads or .vmdk with
# aio=io_uring, persistent delta; the directory's second boot restored
# while it runs, its .qcow2 as it is; the tar's second boot from the .tar.gz on
# the first one's delta); then once from the .tar.zst through GRUB
# (BIOS) written into the delta, restored while it runs to a raw file
# (vdiskfs restore, --restore-to), which then boots by itself (no vdiskfs)
# with the guest's boot count and the file it wrote during the copy; once
# more from the directory's delta with
# --uefi (OVMF, no -kernel: the firmware's fallback \EFI\BOOT\BOOTX64.EFI,
# which vdiskfs shows reading the backup's grubx64.efi, then the backup's
# own grub.cfg); and once a variant whose fstab names its root
# /dev/mapper/vg0-root as xfs (a directory served by nfs-ganesha on
# loopback: vdiskfs reads it over NFSv3); the directory's disk also goes
# into a catalog and is cloned twice, each clone booting on its own delta
# through `vdiskfs serve` (examples/instant-recovery.sh --catalog --disk). A unit in the guest counts boots
# in a file on the root filesystem and prints marker lines on the console:
# each boot must show boot=N (N counts the boots on that delta: a boot reads
# what the one before wrote), "login:", and for the UEFI-shaped backup
# /boot ext4, /boot/efi vfat and the swap active, each on the partition
# `vdiskfs info` plans for it; the xfs variant's guest must see the adapted
# fstab line (the new UUID, ext4) below the original as a comment. The
# backups must hash the same afterwards.
source "$(dirname "$0")/lib.sh"

require_root
for t in "qemu-system-x86_64 qemu-system-x86" "socat socat" "grub-mkimage grub-common" "debootstrap debootstrap" "tar tar" "pigz pigz" "pzstd zstd" \
         "blkid util-linux" "partx util-linux" "bc bc" "fusermount3 fuse3" "jq jq" "$TREETOOL treetool(build)" \
         "$VDISKFS vdiskfs(build)"; do
    require $t
done
[ -f /usr/lib/grub/x86_64-efi/linux.mod ] || die "GRUB for UEFI is missing: install the Debian package 'grub-efi-amd64-bin'"
[ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || die "OVMF is missing: install the Debian package 'ovmf'"
make_work
recovery=$TESTS_DIR/../../examples/instant-recovery.sh

backup=$WORK/web01
bash "$TESTS_DIR/debian_server.sh" "$backup" || die "cannot make the Debian server backup"
xfs_backup=$WORK/db01
bash "$TESTS_DIR/debian_server.sh" "$xfs_backup" --xfs-root || die "cannot make the Debian server backup with an xfs root"
tar --xattrs --xattrs-include='*' --numeric-owner --atime-preserve=system -C "$backup" -cf "$WORK/web01.tar" . ||
    die "tar of the backup failed"
# du lists directories, which moves their atimes: before the hash.
echo "backup: $(du -sh "$backup" | cut -f1) directory, $(stat -c %s "$WORK/web01.tar") bytes as tar"
dir_before=$("$TREETOOL" hash "$backup")
# all_but_atimes DIR: a hash of DIR's names, types, sizes, modes, owners,
# mtimes, link targets and contents (atimes left out).
all_but_atimes() {
    (cd "$1" && find . -printf '%p %y %s %m %U %G %T@ %l\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum) | sha256sum | cut -d' ' -f1
}
xfs_before=$(all_but_atimes "$xfs_backup")
tar_before=$(sha256sum <"$WORK/web01.tar")
# The same tar compressed (#17): read in place, its disk is the plain tar's,
# so a delta written through one serves the other.
pigz -p 2 -c "$WORK/web01.tar" >"$WORK/web01.tar.gz" || die "pigz failed"
pzstd -q -p 2 -c "$WORK/web01.tar" >"$WORK/web01.tar.zst" || die "pzstd failed"
touch -r "$WORK/web01.tar" "$WORK/web01.tar.gz" "$WORK/web01.tar.zst"
echo "compressed: $(stat -c %s "$WORK/web01.tar.gz") bytes as .tar.gz, $(stat -c %s "$WORK/web01.tar.zst") as .tar.zst"

# The planned layout: the partition of /boot, /boot/efi and the swap.
plan=$("$VDISKFS" info --quiet --json "$backup") || die "vdiskfs info --json $backup failed"
part_of() { jq -r --arg m "$1" --arg t "$2" '.partitions[] | select(.mount_point == $m and .type == $t) | .number' <<<"$plan"; }
boot_part=$(part_of /boot ext4) esp_part=$(part_of /boot/efi vfat) swap_part=$(part_of "" swap)
[ -n "$boot_part" ] && [ -n "$esp_part" ] && [ -n "$swap_part" ] ||
    die "vdiskfs info plans no /boot ext4, /boot/efi vfat or swap partition: $(jq -c .partitions <<<"$plan")"
echo "planned: /boot on partition $boot_part, /boot/efi on $esp_part, swap on $swap_part"

# markers CONSOLE: the guest's marker lines, without the prefix.
markers() { tr -d '\r' <"$1" | grep -ao 'VDISKFS-MARKER .*' | sed 's/^VDISKFS-MARKER //'; }
# expect_marker CONSOLE WHAT LINE: the guest printed marker LINE (whole).
expect_marker() {
    markers "$1" | grep -qxF -- "$3" ||
        die "$2: the guest did not print '$3'; its marker lines: $(markers "$1" | grep -v '^fstab:' || echo none)"
}

# boot LABEL SOURCE N [OPTIONS...]: boots once with the delta of LABEL; the
# console must show boot=N (the guest's count of boots on that delta) and
# login:. Leaves the script's output in BOOT_OUT and the console's file in
# CONSOLE.
boot() {
    local label=$1 src=$2 n=$3 out
    shift 3
    CONSOLE=$WORK/console.$label.$n
    out=$(VDISKFS=$VDISKFS "$recovery" --until-login --net none --timeout 500 "$@" \
        --delta "$WORK/delta.$label" --console-log "$CONSOLE" "$src" 2>&1) ||
        die "boot $n of $label failed: $out; console tail: $(tail -c 2000 "$CONSOLE" 2>/dev/null)"
    echo "$out" | sed 's/^/    /'
    grep -q "login prompt after" <<<"$out" || die "no login prompt time printed"
    grep -aq "login:" "$CONSOLE" || die "boot $n of $label: no login: on the console"
    expect_marker "$CONSOLE" "boot $n of $label" "boot=$n"
    echo "boot $n of $label: marker boot=$n and login: seen"
    BOOT_OUT=$out
}

# server_boot LABEL SOURCE N [OPTIONS...]: boot of the UEFI-shaped backup;
# the guest must have mounted /boot and /boot/efi and activated the swap,
# each from its planned partition.
server_boot() {
    boot "$@"
    local what="boot $3 of $1"
    expect_marker "$CONSOLE" "$what" "/boot: /dev/vda$boot_part ext4"
    expect_marker "$CONSOLE" "$what" "/boot/efi: /dev/vda$esp_part vfat"
    expect_marker "$CONSOLE" "$what" "swap: /dev/vda$swap_part partition"
    echo "$what: /boot ext4, /boot/efi vfat and the swap active, on partitions $boot_part, $esp_part, $swap_part"
}

# QEMU's disk I/O: threads for the directory's boots, the default (auto:
# io_uring, which formats_test requires of this machine) for the others.
server_boot dir-qcow2 "$backup" 1 --format qcow2 --aio threads
# The second boot is restored as it runs (#18): the VM's .qcow2, which
# QEMU grows as it allocates clusters, copied as it is to a file; the copy
# must equal the .qcow2 that a new mount on the same delta shows.
server_boot dir-qcow2 "$backup" 2 --format qcow2 --aio threads --restore-to "$WORK/restored.qcow2"
grep -q "aio=threads" <<<"$BOOT_OUT" || die "--aio threads: the script did not say aio=threads"
grep -q "verified (.* [1-9][0-9]* writes mirrored" <<<"$BOOT_OUT" || die "the .qcow2's restore did not verify with mirrored writes: $BOOT_OUT"
grep -q -- "-drive file=$WORK/restored.qcow2,format=qcow2" <<<"$BOOT_OUT" || die "no qcow2 -drive line: $BOOT_OUT"
qemu-img check -q "$WORK/restored.qcow2" || die "qemu-img check of the restored .qcow2 is not clean"
mkdir -p "$WORK/again"
mount_fg "$backup" "$WORK/again" --delta "$WORK/delta.dir-qcow2" --name web01 --formats qcow2
cmp "$WORK/again/web01.qcow2" "$WORK/restored.qcow2" || die "the restored .qcow2 differs from the VM's"
unmount_fg "$WORK/again"
rm "$WORK/restored.qcow2"
echo "the VM's .qcow2 restored while it ran: equal to it, qemu-img check clean"
server_boot tar-vmdk "$WORK/web01.tar" 1 --format vmdk
grep -q "aio=io_uring" <<<"$BOOT_OUT" || die "the default --aio auto did not choose io_uring: $BOOT_OUT"
# The second boot on that delta from the .tar.gz: the same disk.
server_boot tar-vmdk "$WORK/web01.tar.gz" 2 --format vmdk
grep -q "kernel .* from partition $boot_part;" <<<"$BOOT_OUT" ||
    die "the script did not take the kernel from the /boot partition ($boot_part): $BOOT_OUT"
# Without -kernel: GRUB written into the delta of the .img (BIOS boot
# partition from --bios-boot, GRUB's files on the /boot partition), then a
# BIOS boot of the raw disk.
# That boot is also restored (#18): while the VM runs, its disk is copied
# to a raw file at a rate that makes the copy last about as long as the
# boot, so the guest's writes (the marker's 4 MiB file, synced) race it.
restored=$WORK/restored.img
rate=$(( $(du -sb "$backup" | cut -f1) / 60 / 1048576 + 1 ))
server_boot tar-grub "$WORK/web01.tar.zst" 1 --bootloader --restore-to "$restored" --restore-rate "$rate"
grep -aq "GNU GRUB" "$CONSOLE" || die "the --bootloader boot did not go through GRUB"
echo "boot through GRUB from the disk (no -kernel): login: seen"
written=$(markers "$CONSOLE" | sed -n 's/^written=//p')
[ -n "$written" ] || die "the restored boot printed no written= marker"
grep -q "verified (.* [1-9][0-9]* writes mirrored" <<<"$BOOT_OUT" || die "the restore did not verify with mirrored writes: $BOOT_OUT"
grep -q -- "-drive file=$restored,format=raw" <<<"$BOOT_OUT" || die "restore finish printed no -drive line: $BOOT_OUT"
# The target alone (no vdiskfs): a BIOS boot through the GRUB it holds.
# The guest's count and the file it wrote while the copy ran are there.
CONSOLE=$WORK/console.restored
qemu-system-x86_64 -machine q35 -accel tcg -m 1024 -smp 2 -display none -no-reboot -nic none \
    -device virtio-rng-pci -drive "file=$restored,format=raw,if=virtio" -serial "file:$CONSOLE" </dev/null &
qemu_pid=$!
CLEANUP_PIDS+=("$qemu_pid")
for ((i = 0; i < 5000; i++)); do
    grep -aq "login:" "$CONSOLE" 2>/dev/null && break
    kill -0 "$qemu_pid" 2>/dev/null || die "QEMU on the restored disk stopped before login:; console: $(tail -c 2000 "$CONSOLE")"
    sleep 0.1
done
grep -aq "login:" "$CONSOLE" || die "the restored disk did not boot to login: within 500 s; console: $(tail -c 2000 "$CONSOLE")"
kill "$qemu_pid"
wait "$qemu_pid" 2>/dev/null || true
expect_marker "$CONSOLE" "the restored disk's boot" "boot=2"
expect_marker "$CONSOLE" "the restored disk's boot" "previous-written=$written"
echo "the restored raw disk booted by itself to login: (boot=2, the 4 MiB file written during the copy is there)"
# UEFI: the directory's delta once more, through OVMF and the backup's own
# GRUB for UEFI (its grub.cfg echoes the VDISKFS-GRUB-EFI lines). The
# backup's ESP has no EFI/BOOT: the firmware's fallback loader is the one
# vdiskfs shows.
[ ! -e "$backup/boot/efi/EFI/BOOT" ] || die "the backup's ESP already has EFI/BOOT"
server_boot dir-qcow2 "$backup" 3 --format qcow2 --uefi
grep -q "UEFI (OVMF)" <<<"$BOOT_OUT" || die "--uefi: the script did not say it boots through OVMF: $BOOT_OUT"
grep -aq "BdsDxe: starting" "$CONSOLE" || die "--uefi: OVMF's boot manager did not start a boot option"
grep -aq "VDISKFS-GRUB-EFI grub.cfg read from the ESP" "$CONSOLE" || die "--uefi: the backup's EFI GRUB did not read its grub.cfg"
grep -aq "VDISKFS-GRUB-EFI loading /vmlinuz-" "$CONSOLE" || die "--uefi: the backup's EFI GRUB did not load the kernel from /boot"
grep -aq "Linux version" "$CONSOLE" || die "--uefi: no kernel started"
echo "boot through OVMF and the backup's GRUB for UEFI (no -kernel): login: seen"
for d in "$WORK"/delta.*; do
    [ -n "$(find "$d" -name '*.delta' -size +0)" ] || die "no guest writes in the delta $d"
done

# Clones (#19): the directory's disk in a catalog, on the delta its three
# boots wrote, cloned twice; each clone boots on a delta of its own through
# `vdiskfs serve`: both count boot=4 (neither sees the other's boot).
C=$WORK/catalog.db
"$VDISKFS" catalog --catalog "$C" add web01 "$backup" --delta "$WORK/delta.dir-qcow2" >/dev/null ||
    die "catalog add of the backup failed"
for c in a b; do
    "$VDISKFS" clone --catalog "$C" web01 "web01-$c" --delta "$WORK/clone.$c" || die "clone web01-$c failed"
done
# clone_boot DISK N: boots catalog disk DISK; the guest counts boot=N.
clone_boot() {
    local out
    CONSOLE=$WORK/console.$1.$2
    out=$(VDISKFS=$VDISKFS "$recovery" --until-login --net none --timeout 500 --format qcow2 --catalog "$C" \
        --disk "$1" --console-log "$CONSOLE" 2>&1) ||
        die "boot $2 of clone $1 failed: $out; console tail: $(tail -c 2000 "$CONSOLE" 2>/dev/null)"
    grep -aq "login:" "$CONSOLE" || die "boot $2 of clone $1: no login: on the console"
    expect_marker "$CONSOLE" "boot $2 of clone $1" "boot=$2"
    echo "clone $1 booted to login: with its own count, boot=$2"
}
clone_boot web01-a 4
clone_boot web01-b 4

# The root named /dev/mapper/vg0-root as xfs: made ext4, and the guest's
# fstab names it by its new UUID below the original line, now a comment.
# This backup is served from an NFS export (nfs-ganesha on loopback): the
# boot reads it over NFSv3 through vdiskfs's connection pool and block cache.
# The server's own reads move the backup's atimes (ganesha opens files
# without O_NOATIME): this backup is checked unchanged in everything else.
source "$TESTS_DIR/nfs_server.sh"
trap 'rc=$?; set +e; nfs_stop; (exit $rc); cleanup' EXIT
nfs_start "$WORK/nfs" "$xfs_backup"
xfs_url=$(nfs_url "$(cd "$xfs_backup" && pwd -P)" 3)
root_uuid=$("$VDISKFS" info --quiet --json "$xfs_url" | jq -r '.partitions[] | select(.number == 1) | .uuid')
[ -n "$root_uuid" ] && [ "$root_uuid" != null ] || die "vdiskfs info --json $xfs_url: no UUID of partition 1"
boot xfs-root "$xfs_url" 1
nfs_stop
echo "the backup served from NFS ($xfs_url) booted to login:"
fstab=$(markers "$CONSOLE" | sed -n 's/^fstab: //p')
grep -B1 -E "^UUID=${root_uuid}[[:space:]]+/[[:space:]]+ext4[[:space:]]" <<<"$fstab" | head -1 |
    grep -qE '^#[[:space:]]*/dev/mapper/vg0-root[[:space:]]+/[[:space:]]+xfs[[:space:]]' ||
    die "the guest's /etc/fstab does not show 'UUID=$root_uuid / ext4' below the original '/dev/mapper/vg0-root / xfs' as a comment: $fstab"
if grep -qE '^/dev/mapper/vg0-root' <<<"$fstab"; then die "the guest's /etc/fstab still names /dev/mapper/vg0-root: $fstab"; fi
echo "the guest's /etc/fstab: the root adapted to UUID=$root_uuid ext4, the original kept as a comment above it"

[ "$dir_before" = "$("$TREETOOL" hash "$backup")" ] || die "the backup directory changed"
[ "$xfs_before" = "$(all_but_atimes "$xfs_backup")" ] || die "the backup directory with the xfs root (served by NFS) changed"
[ "$tar_before" = "$(sha256sum <"$WORK/web01.tar")" ] || die "the backup tar changed"
echo "backups unchanged (directory $dir_before, xfs-root directory $xfs_before, tar sha256 ${tar_before%% *})"
echo "PASS instant_recovery_test"
