#!/bin/bash
# recovery_bench.sh [--no-record] [SRV_GIB]: from command to login prompt,
# in the same run, for the minimal Debian server backup (a directory) and for
# the same backup with SRV_GIB GiB (default 4) of files added under /srv:
#   vdiskfs: examples/instant-recovery.sh --until-login BACKUP (mount, kernel
#            from the disk, QEMU boot of the mounted .qcow2);
#   copy:    the copy-restore way: `mke2fs -t ext4 -d BACKUP` into a raw
#            image, `qemu-img convert -O qcow2`, then the same QEMU boot.
# Page caches are dropped before each way. ACCEL=kvm|tcg (default tcg: the
# machines this was recorded on offer no working KVM). Run as root after
# building into build/.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
SRV_GIB=${1:-4}
: "${ACCEL:=tcg}"
mkdir -p "$BENCH_CACHE"
WORK=$(mktemp -d "$BENCH_CACHE/recovery-bench.XXXXXX")
QEMU_PID=""
cleanup() {
    [ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# vdiskfs_way BACKUP VARIANT: seconds to the login prompt (a fresh delta per variant).
vdiskfs_way() {
    local out
    drop_caches
    out=$(VDISKFS=$VDISKFS "$REPO/examples/instant-recovery.sh" --until-login --net none --accel "$ACCEL" \
        --delta "$WORK/delta.$2" "$1" 2>&1) || { echo "$out" >&2; exit 1; }
    sed -n 's/.*login prompt after \([0-9.]*\) s/\1/p' <<<"$out"
}

# copy_way BACKUP: prints "mke2fs_s convert_s boot_s total_s".
copy_way() {
    local b=$1 t0 t1 t2 t3 kb size uuid version log
    drop_caches
    t0=$(now)
    kb=$(du -sk "$b" | cut -f1)
    size=$(((kb * 12 / 10 + 262144) / 1024))M  # data + 20% + 256 MiB, as vdiskfs sizes it
    uuid=$(awk '$2 == "/" { sub("UUID=", "", $1); print $1 }' "$b/etc/fstab")
    mke2fs -q -t ext4 -U "$uuid" -d "$b" -F "$WORK/copy.raw" "$size" >/dev/null
    t1=$(now)
    qemu-img convert -O qcow2 "$WORK/copy.raw" "$WORK/copy.qcow2"
    rm "$WORK/copy.raw"
    t2=$(now)
    version=$(ls "$b"/boot/vmlinuz-* | sort -V | tail -1)
    version=${version##*/vmlinuz-}
    log=$WORK/copy-console.log
    : >"$log"
    qemu-system-x86_64 -machine q35 -accel "$ACCEL" -m 1024 -smp 2 -display none -no-reboot \
        -kernel "$b/boot/vmlinuz-$version" -initrd "$b/boot/initrd.img-$version" \
        -append "root=UUID=$uuid ro console=ttyS0,115200" \
        -drive "file=$WORK/copy.qcow2,format=qcow2,if=virtio,cache=writeback" -nic none \
        -serial "file:$log" </dev/null >/dev/null 2>&1 &
    QEMU_PID=$!
    until grep -q "login:" "$log"; do
        kill -0 "$QEMU_PID" 2>/dev/null || { echo "copy-restore boot failed: $(tail -5 "$log")" >&2; exit 1; }
        sleep 0.1
    done
    t3=$(now)
    kill "$QEMU_PID"
    wait "$QEMU_PID" 2>/dev/null || true
    QEMU_PID=""
    rm -f "$WORK/copy.qcow2"
    echo "$(echo "$t1 - $t0" | bc) $(echo "$t2 - $t1" | bc) $(echo "$t3 - $t2" | bc) $(echo "$t3 - $t0" | bc)"
}

backup=$WORK/web01
bash "$REPO/test/integration/debian_server.sh" "$backup"
rows=""
for variant in plain srv; do
    if [ $variant = srv ]; then
        mkdir -p "$backup/srv/data/small"
        for ((i = 0; i < SRV_GIB; i++)); do head -c 1G /dev/urandom >"$backup/srv/data/blob$i"; done
        for ((i = 0; i < 2000; i++)); do head -c 65536 /dev/urandom >"$backup/srv/data/small/f$i"; done
    fi
    data_gib=$(echo "scale=2; $(du -sk "$backup" | cut -f1) / 1048576" | bc)
    entries=$(find "$backup" | wc -l)
    v=$(vdiskfs_way "$backup" $variant)
    read -r c_mkfs c_conv c_boot c_total <<<"$(copy_way "$backup")"
    ratio=$(echo "scale=2; $c_total / $v" | bc)
    rows+=$(printf '| %s | %.2f | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f |' "$variant" "$data_gib" "$entries" \
        "$v" "$c_mkfs" "$c_conv" "$c_boot" "$c_total" "$ratio")$'\n'
    echo "$variant: vdiskfs $v s, copy-restore $c_total s (mke2fs $c_mkfs, convert $c_conv, boot $c_boot)"
done

record_block "## $(date -u '+%Y-%m-%d %H:%M UTC') — recovery_bench.sh

- command: \`bash bench/recovery_bench.sh $SRV_GIB\` (ACCEL=$ACCEL)
- machine: $(machine_line)
- backup: minimal Debian 12 server (debootstrap minbase + linux-image-amd64, systemd-sysv, udev) as a directory; \"srv\" adds $SRV_GIB GiB of random files and 2000 × 64 KiB files under /srv
- seconds from the command to \`login:\` on the serial console, page caches dropped before each way; ratio = copy total / vdiskfs

| backup | GiB | entries | vdiskfs s | copy: mke2fs -d s | convert s | boot s | copy total s | ratio |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
${rows%$'\n'}"
