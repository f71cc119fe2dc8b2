#!/bin/bash
# Instant recovery: boots a Linux server's file-level backup as a VM, now,
# without copying it. The backup (a directory, or a tar of the server's
# files, plain or gzip, zstd, xz or bzip2 compressed, its mounted
# filesystems included) is mounted with vdiskfs, which makes every local
# filesystem of the backup's fstab its own partition (root first, then
# /boot, the EFI System Partition, swap ...). QEMU boots the kernel and
# initrd of the backup's /boot (found on whichever partition holds it) with
# root=UUID=<partition 1's UUID> from the mounted .qcow2 (or .vmdk) as a
# virtio disk; or, with --uefi, OVMF firmware boots the disk through the
# backup's own boot loader. The guest's writes land in a persistent delta;
# the backup itself is never written.
#
#   examples/instant-recovery.sh [options] BACKUP
#
#   --delta DIR        where the guest's writes persist (default: vdiskfs's
#                      state folder for this backup, kept between boots)
#   --format F         qcow2 (default) or vmdk
#   --memory MIB       guest memory (default 1024)
#   --cpus N           guest CPUs (default 2)
#   --net MODE         user (default: QEMU user networking) or none
#   --accel A          auto (default: KVM if it starts the kernel, else TCG),
#                      kvm or tcg
#   --append ARGS      more kernel command line (not with --uefi: the
#                      backup's boot loader has its own)
#   --aio MODE         QEMU's disk I/O: auto (default: io_uring where this
#                      QEMU and kernel can use it on the disk, else
#                      threads), io_uring or threads. QEMU's VMDK reader is
#                      about 4 times slower with threads (one thread-pool
#                      round trip per 64 KiB grain)
#   --bootloader       boot through GRUB instead of -kernel: the disk gets a
#                      BIOS boot partition (vdiskfs --bios-boot) and
#                      examples/install-grub.sh writes GRUB into its delta;
#                      the raw .img is the VM's disk
#   --uefi             boot through UEFI firmware instead of -kernel: OVMF
#                      (Debian package ovmf) with empty NVRAM falls back to
#                      \EFI\BOOT\BOOTX64.EFI on the disk's EFI System
#                      Partition (vdiskfs shows one there reading the
#                      backup's shimx64.efi or grubx64.efi), which boots
#                      what the backup's own GRUB config says. The firmware's
#                      variables are a fresh copy for each run
#   --until-login      batch mode for tests and benchmarks: no terminal;
#                      once the login prompt shows, power the guest off
#                      (ACPI) and stop
#   --console-log FILE keep the serial console output in FILE as well
#   --timeout SEC      with --until-login: give up after SEC (default 600)
#   --restore-to T     the second half of the job: while the VM runs, copy its
#                      disk to T, real storage, with the guest's writes
#                      mirrored (vdiskfs restore). After the guest stops:
#                      wait until the copy is verified, finish it and print
#                      how to boot T. With --bootloader the VM runs on the
#                      raw .img and T is a new raw file, a block device, a
#                      new .qcow2 file or nbd://HOST:PORT/EXPORT, a disk
#                      that boots by itself; otherwise T is a new file that
#                      receives the VM's .qcow2 (or .vmdk) as it is (boot it
#                      with the kernel and initrd, as this script does)
#   --restore-rate M   at most M MiB/s for that copy (default: as fast as the
#                      guest's own reads allow)
#   --catalog FILE --disk NAME
#                      boot disk NAME of a vdiskfs catalog (a clone, say)
#                      instead of a BACKUP: `vdiskfs serve` serves the
#                      catalog and the VM runs on NAME's files, its writes
#                      in NAME's own delta (no --delta, --bootloader or
#                      --restore-to)
#   --vdiskfs-opt OPT  one more option for `vdiskfs mount` (repeatable), e.g.
#                      --vdiskfs-opt=--cache-dir=/var/cache/web01 for a
#                      backup on a share
#
# BACKUP may also be a share: nfs://host/export/web01[?version=4] or
# smb://host/share/web01 (vdiskfs reads it over the protocol).
#
# Prints "login prompt after S s" (from the start of this command). Run as
# root, after building vdiskfs into build/ (or set VDISKFS).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
vdiskfs=${VDISKFS:-$here/../build/vdiskfs}
extra_mount_args=()
delta="" format=qcow2 memory=1024 cpus=2 net=user accel=auto aio=auto append="" bootloader=0 uefi=0 until_login=0 console_log="" timeout=600
restore_to="" restore_rate="" catalog="" catalog_disk=""
while [ $# -gt 0 ]; do
    case $1 in
    --delta) delta=$2; shift 2 ;;
    --format) format=$2; shift 2 ;;
    --memory) memory=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --net) net=$2; shift 2 ;;
    --accel) accel=$2; shift 2 ;;
    --append) append=$2; shift 2 ;;
    --aio) aio=$2; shift 2 ;;
    --bootloader) bootloader=1; shift ;;
    --until-login) until_login=1; shift ;;
    --console-log) console_log=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --vdiskfs-opt=*) extra_mount_args+=("${1#--vdiskfs-opt=}"); shift ;;
    --vdiskfs-opt) extra_mount_args+=("$2"); shift 2 ;;
    --uefi) uefi=1; shift ;;
    --restore-to) restore_to=$2; shift 2 ;;
    --restore-rate) restore_rate=$2; shift 2 ;;
    --catalog) catalog=$(realpath "$2"); shift 2 ;;
    --disk) catalog_disk=$2; shift 2 ;;
    -h | --help) sed -n '2,67p' "$0"; exit 0 ;;
    -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
    esac
done
if [ -n "$catalog" ] || [ -n "$catalog_disk" ]; then
    { [ $# -eq 0 ] && [ -n "$catalog" ] && [ -n "$catalog_disk" ]; } ||
        { echo "usage: $0 [options] --catalog FILE --disk NAME   (no BACKUP; see --help)" >&2; exit 2; }
    { [ -z "$delta" ] && [ "$bootloader" = 0 ] && [ -z "$restore_to" ]; } ||
        { echo "--catalog boots a catalog disk on its own delta: no --delta, --bootloader or --restore-to" >&2; exit 2; }
    set -- "catalog:$catalog_disk"
fi
[ $# -eq 1 ] || { echo "usage: $0 [options] BACKUP   (see --help)" >&2; exit 2; }
case $1 in
nfs://* | smb://* | catalog:*) backup=$1 ;;
*) backup=$(realpath "$1") ;;
esac
start=$(date +%s.%N)

say() { echo "instant-recovery: $*" >&2; }
die() { say "$*"; exit 1; }
for tool in qemu-system-x86_64:qemu-system-x86 fusermount3:fuse3 partx:util-linux blkid:util-linux losetup:mount socat:socat bc:bc; do
    command -v "${tool%%:*}" >/dev/null || die "'${tool%%:*}' is missing: install the Debian package '${tool#*:}'"
done
[ -x "$vdiskfs" ] || die "vdiskfs not found at $vdiskfs: build first (cmake -S . -B build && cmake --build build -j2)"
case $backup in nfs://* | smb://* | catalog:*) ;; *) [ -e "$backup" ] || die "backup $backup does not exist" ;; esac
case $format in qcow2 | vmdk) ;; *) die "--format must be qcow2 or vmdk" ;; esac
# OVMF as Debian's ovmf package installs it: code read-only, variables copied.
ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd
if [ "$uefi" = 1 ]; then
    [ "$bootloader" = 0 ] || die "--uefi and --bootloader are two ways to boot: choose one"
    [ -z "$append" ] || die "--append does not reach the kernel with --uefi (the backup's boot loader sets the command line)"
    { [ -f "$ovmf_code" ] && [ -f "$ovmf_vars" ]; } || die "$ovmf_code is missing: install the Debian package 'ovmf'"
fi

name=$(basename "${backup%%\?*}")
[ -z "$catalog_disk" ] || name=$catalog_disk
for suffix in .tar.gz .tgz .tar.zst .tzst .tar.xz .txz .tar.bz2 .tbz2 .tar; do
    [ "${name%"$suffix"}" != "$name" ] && { name=${name%"$suffix"}; break; }
done
run=$(mktemp -d "/tmp/instant-recovery.$name.XXXXXX")
mnt=$run/disks
mkdir "$mnt"
log=${console_log:-$run/console.log}
: >"$log"
vdiskfs_pid="" qemu_pid="" loop=""
cleanup() {
    local rc=$? status
    set +e
    if [ -n "$loop" ]; then umount "$run/root" 2>/dev/null; losetup -d "$loop"; fi
    [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null
    if mountpoint -q "$mnt"; then fusermount3 -u "$mnt"; fi
    # The daemon writes the delta's last records on unmount: wait for it,
    # and report a bad exit (its log is about to go with $run).
    if [ -n "$vdiskfs_pid" ]; then
        status=0
        wait "$vdiskfs_pid" 2>/dev/null || status=$?
        if [ "$status" -ne 0 ]; then
            echo "instant-recovery.sh: vdiskfs exited with status $status; the end of its log:" >&2
            tail -n 50 "$run/vdiskfs.log" >&2
            [ "$rc" -ne 0 ] || rc=1
        fi
    fi
    rm -rf "$run"
    exit "$rc"
}
trap cleanup EXIT

# 1. The disk: mounted, never copied. The delta keeps the guest's writes.
mount_args=(--formats "img,$format")
[ "$bootloader" = 1 ] && mount_args=(--formats img --bios-boot)
[ -n "$delta" ] && mount_args+=(--delta "$delta")
mount_args+=("${extra_mount_args[@]}")
files=$mnt
if [ -n "$catalog" ]; then
    # A catalog disk: its folder in a serve mount, there once its scan ends.
    "$vdiskfs" serve -f --catalog "$catalog" --formats "img,$format" "${extra_mount_args[@]}" \
        --log "$run/vdiskfs.log" "$mnt" 2>>"$run/vdiskfs.log" &
    files=$mnt/$name
else
    "$vdiskfs" mount -f --name "$name" "${mount_args[@]}" --log "$run/vdiskfs.log" \
        "$backup" "$mnt" 2>>"$run/vdiskfs.log" &
fi
vdiskfs_pid=$!
for _ in $(seq 1200); do
    mountpoint -q "$mnt" && [ -f "$files/$name.img" ] && break
    [ -f "$files/ERROR" ] && die "disk $name cannot be served: $(cat "$files/ERROR")"
    kill -0 "$vdiskfs_pid" 2>/dev/null || die "vdiskfs failed: $(cat "$run/vdiskfs.log")"
    sleep 0.1
done
[ -f "$files/$name.img" ] || die "vdiskfs did not serve $files/$name.img within 120 s"
disk=$files/$name.$format

# 2. The kernel and initrd (newest version) and the root UUID, read from the
# disk itself: the root is partition 1; the kernel is on the first ext4
# partition that holds vmlinuz-* at its top (a /boot of its own) or in
# boot/. Read-only loop mounts: the same for a directory and a tar, and the
# backup's atimes stay as they are.
img=$files/$name.img
boot=$run/boot
mkdir "$boot" "$run/root"
# probe START SECTORS TAG: blkid's TAG (TYPE, UUID) of a partition's filesystem.
probe() { blkid -p -O $(($1 * 512)) -S $(($2 * 512)) -s "$3" -o value "$img" || true; }
uuid="" kernel="" kernel_part=""
while read -r nr first sectors; do
    [ "$nr" = 1 ] && uuid=$(probe "$first" "$sectors" UUID)
    [ "$(probe "$first" "$sectors" TYPE)" = ext4 ] || continue
    loop=$(losetup -r -f --show -o $((first * 512)) --sizelimit $((sectors * 512)) "$img")
    mount -t ext4 -o ro,noload "$loop" "$run/root" || die "cannot mount the ext4 of partition $nr"
    for dir in "$run/root" "$run/root/boot"; do
        kernel=$(ls "$dir"/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)
        [ -z "$kernel" ] || break
    done
    version=${kernel##*/vmlinuz-}
    if [ -n "$kernel" ]; then
        kernel_part=$nr
        [ -f "$dir/initrd.img-$version" ] && cp "$kernel" "$boot/vmlinuz" && cp "$dir/initrd.img-$version" "$boot/initrd.img"
    fi
    umount "$run/root"
    losetup -d "$loop"
    loop=""
    [ -z "$kernel" ] || break
done < <(partx -g -o NR,START,SECTORS "$img")
[ -n "$kernel" ] || die "no kernel (vmlinuz-* in /boot) on any ext4 partition of the disk of $backup"
[ -f "$boot/initrd.img" ] || die "no initrd.img-$version beside vmlinuz-$version (partition $kernel_part)"
[ -n "$uuid" ] || die "no filesystem UUID found on partition 1 of $img"
boot_args=(-kernel "$boot/vmlinuz" -initrd "$boot/initrd.img" -append "root=UUID=$uuid ro console=ttyS0,115200 $append")
how="kernel $version from partition $kernel_part"
if [ "$bootloader" = 1 ]; then
    # GRUB in the delta of the .img; the guest boots it like a real disk.
    "$here/install-grub.sh" "$img" console=ttyS0,115200 $append
    disk=$img format=raw boot_args=() how="GRUB (BIOS), $how"
fi
if [ "$uefi" = 1 ]; then
    # OVMF with empty variables: the firmware's fallback, the ESP's
    # \EFI\BOOT\BOOTX64.EFI, is the backup's own loader.
    esp_type=c12a7328-f81f-11d2-ba4b-00a0c93ec93b
    partx -g -o TYPE "$img" | grep -qix "$esp_type" ||
        die "--uefi: the disk has no EFI System Partition (the backup's fstab names no vfat /boot/efi or /efi)"
    cp "$ovmf_vars" "$run/OVMF_VARS.fd"
    boot_args=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$ovmf_code"
        -drive "if=pflash,format=raw,unit=1,file=$run/OVMF_VARS.fd")
    how="UEFI (OVMF) through the backup's boot loader"
fi
say "$how; disk $disk (root UUID $uuid), ready after $(echo "$(date +%s.%N) - $start" | bc) s"
if [ -n "$restore_to" ]; then
    "$vdiskfs" restore start "$disk" "$restore_to" ${restore_rate:+--rate "$restore_rate"} -q ||
        die "the restore to $restore_to did not start (the reason is above)"
    say "restoring the disk to $restore_to while the VM runs ('vdiskfs restore status' follows it)"
fi

# 3. The VM.
# KVM where it works: some hosts (nested virtualization) offer /dev/kvm
# whose guests hang before the kernel prints a line, so "auto" checks that
# the backup's kernel starts under KVM (a second or two) before using it.
kvm_starts_kernel() {
    local probe=$run/kvm-probe.log pid i
    [ -w /dev/kvm ] || return 1
    qemu-system-x86_64 -machine q35 -accel kvm -m 256 -display none -nodefaults -no-reboot \
        -kernel "$boot/vmlinuz" -append "console=ttyS0 panic=-1 rdinit=/nonexistent" \
        -serial "file:$probe" </dev/null >/dev/null 2>&1 &
    pid=$!
    for ((i = 0; i < 80; i++)); do
        grep -q "Linux version" "$probe" 2>/dev/null && break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    grep -q "Linux version" "$probe" 2>/dev/null
}
case $accel in
auto)
    if kvm_starts_kernel; then accel=kvm; else
        accel=tcg
        say "KVM unavailable or not starting the kernel: software emulation (TCG, slower)"
    fi ;;
kvm | tcg) ;;
*) die "--accel must be auto, kvm or tcg" ;;
esac
accel=(-accel "$accel")
# io_uring where it works: the probe reads the disk's header through it
# (kernels may disable io_uring; QEMU may be built without it).
case $aio in
auto)
    if timeout 20 qemu-img info --image-opts \
        "driver=$format,file.driver=file,file.filename=$disk,file.aio=io_uring" >/dev/null 2>&1; then
        aio=io_uring
    else
        aio=threads
        say "io_uring unusable here: QEMU disk I/O with threads (slower)"
    fi ;;
io_uring | threads) ;;
*) die "--aio must be auto, io_uring or threads" ;;
esac
say "QEMU disk I/O: aio=$aio"
nic=(-nic none)
[ "$net" = user ] && nic=(-nic user,model=virtio-net-pci)
# virtio-rng: an entropy source, so the guest's getrandom() does not wait
# for the kernel's jitter entropy, which under TCG can take minutes.
qemu=(qemu-system-x86_64 -machine q35 "${accel[@]}" -m "$memory" -smp "$cpus" -display none
    "${boot_args[@]}" -drive "file=$disk,format=$format,if=virtio,cache=writeback,aio=$aio,discard=unmap" "${nic[@]}"
    -device virtio-rng-pci)

elapsed() { echo "$(date +%s.%N) - $start" | bc; }
# wait_for_login PID SECONDS: prints the time once the console shows a login
# prompt; fails when QEMU stops first or SECONDS pass.
wait_for_login() {
    local deadline=$((SECONDS + $2))
    until grep -q "login:" "$log"; do
        kill -0 "$1" 2>/dev/null || { say "QEMU stopped before the login prompt; console: $(tail -20 "$log")"; return 1; }
        [ $SECONDS -lt $deadline ] || { say "no login prompt within $2 s; console: $(tail -20 "$log")"; return 1; }
        sleep 0.1
    done
    say "login prompt after $(elapsed) s"
}

if [ "$until_login" = 1 ]; then
    monitor=$run/monitor.sock
    "${qemu[@]}" -no-reboot -serial "file:$log" -monitor "unix:$monitor,server,nowait" </dev/null &
    qemu_pid=$!
    wait_for_login "$qemu_pid" "$timeout" || exit 1
    # A clean shutdown: the ACPI power button (needs logind, hence dbus, in
    # the guest), else Ctrl-Alt-Del, which systemd and sysvinit turn into a
    # reboot that -no-reboot makes QEMU's exit.
    monitor_command() { echo "$1" | socat - "UNIX-CONNECT:$monitor" >/dev/null; }
    stopped_within() {
        for ((i = 0; i < $1 * 10; i++)); do kill -0 "$qemu_pid" 2>/dev/null || return 0; sleep 0.1; done
        return 1
    }
    monitor_command system_powerdown
    if ! stopped_within 15; then
        monitor_command "sendkey ctrl-alt-delete"
        stopped_within 180 || die "the guest did not shut down within 195 s"
    fi
    wait "$qemu_pid" || die "QEMU exited with an error"
    qemu_pid=""
    say "guest shut down after $(elapsed) s"
else
    say "serial console follows; log in, or Ctrl-A X to stop QEMU"
    # The console is the terminal; a watcher reads QEMU's copy of it.
    "${qemu[@]}" -chardev "stdio,id=con,mux=on,signal=off,logfile=$log" -serial chardev:con -mon chardev=con &
    qemu_pid=$!
    wait_for_login "$qemu_pid" 86400 &
    wait "$qemu_pid" || true
    qemu_pid=""
fi

# 4. The restore, when asked: the guest has stopped; once the copy is
# verified, mirroring ends and the target is the server's disk.
if [ -n "$restore_to" ]; then
    "$vdiskfs" restore wait "$disk" || die "the restore to $restore_to failed (the reason is above)"
    "$vdiskfs" restore finish "$disk" || die "finishing the restore to $restore_to failed"
    say "the disk is on $restore_to: boot it without vdiskfs (the -drive line above)"
fi
