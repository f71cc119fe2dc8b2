#!/bin/bash
# Instant recovery, end to end: a minimal Debian server (debootstrap, cached
# per machine) is the backup, as a directory and as a tar. For each, boots it
# twice with examples/instant-recovery.sh (QEMU, direct kernel boot from the
# backup's /boot, root=UUID from its fstab, virtio disk from the mounted
# .qcow2 with aio=threads or .vmdk with aio=io_uring, persistent delta),
# then once more from the tar through GRUB written into the delta (no
# -kernel): a unit in the guest counts boots in a file on the root
# filesystem and prints a marker on the console; the first boot must say
# boot=1, the second boot=2 (it read what the first wrote), both must reach
# "login:", and the backup must hash the same afterwards.
source "$(dirname "$0")/lib.sh"

require_root
for t in "qemu-system-x86_64 qemu-system-x86" "socat socat" "grub-mkimage grub-common" "debootstrap debootstrap" "tar tar" \
         "blkid util-linux" "partx util-linux" "bc bc" "fusermount3 fuse3" "$TREETOOL treetool(build)" \
         "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
recovery=$TESTS_DIR/../../examples/instant-recovery.sh

backup=$WORK/web01
bash "$TESTS_DIR/debian_server.sh" "$backup" || die "cannot make the Debian server backup"
tar --xattrs --xattrs-include='*' --numeric-owner --atime-preserve=system -C "$backup" -cf "$WORK/web01.tar" . ||
    die "tar of the backup failed"
# du lists directories, which moves their atimes: before the hash.
echo "backup: $(du -sh "$backup" | cut -f1) directory, $(stat -c %s "$WORK/web01.tar") bytes as tar"
dir_before=$("$TREETOOL" hash "$backup")
tar_before=$(sha256sum <"$WORK/web01.tar")

# boot LABEL SOURCE N [OPTIONS...]: boots once with the delta of LABEL; the
# console must show boot=N (the guest's count of boots on that delta) and
# login:. Leaves the script's output in BOOT_OUT.
boot() {
    local label=$1 src=$2 n=$3 console out
    shift 3
    console=$WORK/console.$label.$n
    out=$(VDISKFS=$VDISKFS "$recovery" --until-login --net none --timeout 500 "$@" \
        --delta "$WORK/delta.$label" --console-log "$console" "$src" 2>&1) ||
        die "boot $n of $label failed: $out; console tail: $(tail -c 2000 "$console" 2>/dev/null)"
    echo "$out" | sed 's/^/    /'
    grep -q "login prompt after" <<<"$out" || die "no login prompt time printed"
    grep -aq "login:" "$console" || die "boot $n of $label: no login: on the console"
    grep -aq "VDISKFS-MARKER boot=$n\b" "$console" ||
        die "boot $n of $label: expected marker boot=$n; console has: $(grep -a VDISKFS-MARKER "$console" || echo none)"
    echo "boot $n of $label: marker boot=$n and login: seen"
    BOOT_OUT=$out
}

# QEMU's disk I/O: threads for the directory's boots, the default (auto:
# io_uring, which formats_test requires of this machine) for the others.
boot dir-qcow2 "$backup" 1 --format qcow2 --aio threads
boot dir-qcow2 "$backup" 2 --format qcow2 --aio threads
grep -q "aio=threads" <<<"$BOOT_OUT" || die "--aio threads: the script did not say aio=threads"
boot tar-vmdk "$WORK/web01.tar" 1 --format vmdk
grep -q "aio=io_uring" <<<"$BOOT_OUT" || die "the default --aio auto did not choose io_uring: $BOOT_OUT"
boot tar-vmdk "$WORK/web01.tar" 2 --format vmdk
for d in "$WORK"/delta.*; do
    [ -s "$d/web01.qcow2.delta" ] || [ -s "$d/web01.vmdk.delta" ] || die "no guest writes in the delta $d"
done
# Without -kernel: GRUB written into the delta of the .img (BIOS boot
# partition from --bios-boot), then a BIOS boot of the raw disk.
boot tar-grub "$WORK/web01.tar" 1 --bootloader
grep -aq "GNU GRUB" "$WORK/console.tar-grub.1" || die "the --bootloader boot did not go through GRUB"
echo "boot through GRUB from the disk (no -kernel): login: seen"

[ "$dir_before" = "$("$TREETOOL" hash "$backup")" ] || die "the backup directory changed"
[ "$tar_before" = "$(sha256sum <"$WORK/web01.tar")" ] || die "the backup tar changed"
echo "backups unchanged (directory $dir_before, tar sha256 ${tar_before%% *})"
echo "PASS instant_recovery_test"
