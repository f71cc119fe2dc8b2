#!/bin/bash
# vdiskfs restore: the background copy of a mounted disk to real storage
# while it is written, checked against the mounted .img byte for byte.
#   1. raw file target, --rate 6 MiB/s: guest writes (qemu-io through the
#      mount) to a range the copy already passed, to one it has not reached
#      and to free space, while it runs: all on the target with the guest's
#      bytes; the target equals the .img and holds about the data only
#      (free space stays a hole); stop/restart rules; finish prints the
#      -drive line.
#   2. the daemon killed by SIGKILL halfway: after the remount the status
#      says stopped at least where the record was; a guest write before the
#      resume; `restore start` again continues (copies less than the whole)
#      and verifies; equal to the .img.
#   3. a target on a small ext4 (loop device) that fills up: the restore
#      fails naming the target and "No space left"; the mount keeps serving
#      reads and writes; nothing of the delta is lost.
#   4. nbd:// to `nbdkit memory` on a loopback high port: nbdcopy of the
#      export equals the .img.
#   5. a loop device holding old bytes in what is free space on the disk:
#      zeroed, equal to the .img.
#   6. a new .qcow2 file: qemu-img compare identical, qemu-img check clean.
#   7. the exposed .qcow2 (a container file) restored as it is to a file
#      while qemu-io writes through QEMU's qcow2 driver, which appends
#      clusters: the file grows, the copy follows, equal and check clean.
source "$(dirname "$0")/lib.sh"
require_root
for t in "fusermount3 fuse3" "qemu-io qemu-utils" "qemu-img qemu-utils" "nbdkit nbdkit" "nbdcopy libnbd-bin" \
         "jq jq" "mkfs.ext4 e2fsprogs" "losetup mount" "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
M=$WORK/mnt
mkdir -p "$WORK/src/d" "$M"
random_bytes $((24 << 20)) >"$WORK/src/big.bin"
random_bytes $((9 << 20)) >"$WORK/src/d/mid.bin"
random_bytes 100000 >"$WORK/src/d/small.bin"
seq 1 100000 >"$WORK/src/numbers.txt"

# state FILE: the restore's status field $2 (default state).
field() { "$VDISKFS" restore status --json "$1" | jq -r ".[0].${2:-state}"; }

# wait_done FILE MIB: waits until the copy has done MIB MiB (60 s at most).
wait_done() {
    local i
    for ((i = 0; i < 600; i++)); do
        (($(field "$1" bytes_done) >= $2 << 20)) && return 0
        [ "$(field "$1")" = copying ] || die "restore of $1 is $(field "$1") before $2 MiB were copied: $(field "$1" reason)"
        sleep 0.1
    done
    die "restore of $1 did not reach $2 MiB in 60 s"
}

# guest_write FILE OFFSET LEN BYTE: a write through the mount, as a guest's.
guest_write() {
    qemu-io -f raw -c "write -P $4 $2 $3" "$1" >/dev/null || die "qemu-io write at $2 to $1 failed"
}

# expect_pattern IMAGE FORMAT OFFSET LEN BYTE
expect_pattern() {
    qemu-io -r -f "$2" -c "read -P $5 $3 $4" "$1" | grep -q "read $4/$4" || die "$1: no $5 pattern at $3"
    qemu-io -r -f "$2" -c "read -P $5 $3 $4" "$1" | grep -q "Pattern verification failed" && die "$1: bytes at $3 are not the guest's $5"
    true
}

echo "== 1. raw file, writes racing the copy"
mount_fg "$WORK/src" "$M" --delta "$WORK/delta"
IMG=$M/src.img
DISK=$(stat -c %s "$IMG")
# The data ranges, to place writes and to bound the target's allocation.
data_bytes=$(qemu-img map -f raw --output=json "$IMG" | jq '[.[] | select(.data) | .length] | add')
first_data=$(qemu-img map -f raw --output=json "$IMG" | jq '[.[] | select(.data and .start >= 1048576) | .start] | min')
last_data=$(qemu-img map -f raw --output=json "$IMG" | jq '[.[] | select(.data and .start < '"$((DISK - (1 << 20)))"') | .start + .length] | max')
free_at=$((DISK - (8 << 20)))  # free space of the filesystem, near the end
echo "disk $DISK bytes, data $data_bytes, writes at $first_data (passed), $((last_data - 65536)) (ahead), $free_at (free)"
"$VDISKFS" restore start "$IMG" "$WORK/t1.img" --rate 6 -q
[ "$(field "$IMG")" = copying ] || die "restore start: state $(field "$IMG"), not copying"
wait_done "$IMG" 8
guest_write "$IMG" "$first_data" 65536 0xa1
guest_write "$IMG" $((last_data - 65536)) 65536 0xa2
guest_write "$IMG" "$free_at" 4096 0xa3
# The same target again, or a second start: refused while it runs.
expect_status $EXIT_REFUSED "already copying" "$VDISKFS" restore start "$IMG" "$WORK/t1.img"
"$VDISKFS" restore status >"$WORK/status.txt"
grep -q "src.img -> $WORK/t1.img: copying" "$WORK/status.txt" || die "restore status (no args) does not list the copy: $(cat "$WORK/status.txt")"
# `restore wait` on the running restore: until verified.
timeout 60 "$VDISKFS" restore wait "$IMG" -q || die "restore ended $(field "$IMG"): $(field "$IMG" reason)"
(($(field "$IMG" mirrored_writes) >= 3)) || die "mirrored_writes $(field "$IMG" mirrored_writes), expected >= 3"
cmp "$IMG" "$WORK/t1.img" || die "target 1 differs from the .img"
expect_pattern "$WORK/t1.img" raw "$first_data" 65536 0xa1
expect_pattern "$WORK/t1.img" raw $((last_data - 65536)) 65536 0xa2
expect_pattern "$WORK/t1.img" raw "$free_at" 4096 0xa3
held=$(($(stat -c %b "$WORK/t1.img") * 512))
((held <= data_bytes + (4 << 20))) || die "target 1 holds $held bytes, more than the data ($data_bytes) and the writes"
echo "ok: copy with writes racing it: equal, the writes there, $held bytes held for $data_bytes of data"
# Writes after verification are still mirrored.
guest_write "$IMG" 2097152 4096 0xa4
expect_pattern "$WORK/t1.img" raw 2097152 4096 0xa4
# Another target while one is recorded: refused without --restart.
expect_status $EXIT_REFUSED "already verified" "$VDISKFS" restore start "$IMG" "$WORK/other.img"
exec 9<"$IMG"  # a VM still on it
expect_status $EXIT_REFUSED "still open" "$VDISKFS" restore finish "$IMG"
exec 9<&-
"$VDISKFS" restore finish "$IMG" >"$WORK/finish.txt"
grep -q -- "-drive file=$WORK/t1.img,format=raw" "$WORK/finish.txt" || die "finish did not print the -drive line: $(cat "$WORK/finish.txt")"
grep -q "<source file='$WORK/t1.img'/>" "$WORK/finish.txt" || die "finish did not print the libvirt disk XML"
[ "$(field "$IMG")" = finished ] || die "state after finish: $(field "$IMG")"
guest_write "$IMG" 2097152 4096 0xa5
expect_pattern "$WORK/t1.img" raw 2097152 4096 0xa4  # no mirroring after finish
expect_status $EXIT_REFUSED "has a restore to $WORK/t1.img" "$VDISKFS" restore start "$IMG" "$WORK/other.img"
expect_status $EXIT_REFUSED "finished (the cutover)" "$VDISKFS" restore start "$IMG" "$WORK/t1.img"
expect_status $EXIT_REFUSED "exists" "$VDISKFS" restore start "$IMG" "$WORK/src/numbers.txt" --restart
[ -f "$WORK/other.img" ] && die "a refused restore created its target"
echo "ok: finish, refusals (running, other target, a finished restore, existing file)"
unmount_fg "$M"

echo "== 2. SIGKILL halfway, remount, resume"
mount_fg "$WORK/src" "$M" --delta "$WORK/delta2"
"$VDISKFS" restore start "$IMG" "$WORK/t2.img" --rate 5 -q
wait_done "$IMG" 14
sleep 1.2  # a checkpoint after 14 MiB
kill -9 "$MOUNT_PID"
wait "$MOUNT_PID" 2>/dev/null || true
forget_daemon "$MOUNT_PID"
fusermount3 -u "$M" 2>/dev/null || umount -l "$M"
rec=$WORK/delta2/src.img.restore
recorded=$(jq '[.copied[] | .[1]] | add' "$rec")
((recorded >= 10)) || die "the record after the kill holds $recorded chunks, expected >= 10"
mount_fg "$WORK/src" "$M" --delta "$WORK/delta2"
[ "$(field "$IMG")" = stopped ] || die "after the remount the restore is $(field "$IMG"), not stopped"
(($(field "$IMG" bytes_done) >= recorded << 20)) || die "after the remount bytes_done $(field "$IMG" bytes_done) < the record's $recorded MiB"
guest_write "$IMG" "$first_data" 65536 0xb1  # while no restore runs: in the delta only
"$VDISKFS" restore start "$IMG" "$WORK/t2.img" --wait -q || die "resumed restore did not verify: $(field "$IMG" reason)"
this_run=$(field "$IMG" bytes_copied_this_run)
total=$(field "$IMG" bytes_total)
((this_run < total)) || die "the resumed restore copied $this_run of $total bytes: it started over"
grep -q "restore of src.img to $WORK/t2.img resumed" "$WORK/vdiskfs.log" || die "no 'resumed' log line"
cmp "$IMG" "$WORK/t2.img" || die "target 2 differs from the .img after the resume"
expect_pattern "$WORK/t2.img" raw "$first_data" 65536 0xb1
echo "ok: resumed after SIGKILL ($recorded MiB recorded, $this_run of $total bytes copied again), verified"
unmount_fg "$M"

echo "== 3. a target that fills up"
truncate -s 24M "$WORK/small.fs"
mkfs.ext4 -q "$WORK/small.fs"
loop=$(losetup -f --show "$WORK/small.fs")
CLEANUP_LOOPS+=("$loop")
mkdir -p "$WORK/small"
mount "$loop" "$WORK/small"
CLEANUP_MOUNTS+=("$WORK/small")
mount_fg "$WORK/src" "$M" --delta "$WORK/delta3"
guest_write "$IMG" "$first_data" 65536 0xc1
"$VDISKFS" restore start "$IMG" "$WORK/small/t3.img" -q --wait && die "a restore onto 24 MiB of ext4 verified"
[ "$(field "$IMG")" = failed ] || die "state $(field "$IMG"), not failed"
field "$IMG" reason | grep -q "$WORK/small/t3.img.*No space left on device" || die "reason does not name the target and ENOSPC: $(field "$IMG" reason)"
guest_write "$IMG" $((first_data + 65536)) 65536 0xc2
expect_pattern "$IMG" raw "$first_data" 65536 0xc1
expect_pattern "$IMG" raw $((first_data + 65536)) 65536 0xc2
unmount_fg "$M"
mount_fg "$WORK/src" "$M" --delta "$WORK/delta3"
expect_pattern "$IMG" raw "$first_data" 65536 0xc1
expect_pattern "$IMG" raw $((first_data + 65536)) 65536 0xc2
echo "ok: full target: failed ($(field "$IMG" reason | cut -c1-100)...), the mount served on, the delta intact"

echo "== 4. nbd:// target (nbdkit memory on loopback)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nbdkit -f -i 127.0.0.1 -p "$port" memory size="$DISK" 2>"$WORK/nbdkit.log" &
nbd_pid=$!
CLEANUP_PIDS+=("$nbd_pid")
wait_serving nbdkit "$nbd_pid" "$WORK/nbdkit.log" nbdinfo --size "nbd://127.0.0.1:$port"
"$VDISKFS" restore start "$IMG" "nbd://127.0.0.1:$port" --restart --wait -q || die "nbd restore: $(field "$IMG" reason)"
nbdcopy "nbd://127.0.0.1:$port" "$WORK/t4.raw"
cmp "$IMG" "$WORK/t4.raw" || die "the NBD export differs from the .img"
"$VDISKFS" restore stop "$IMG" -q 2>/dev/null || true
kill "$nbd_pid"
wait "$nbd_pid" 2>/dev/null || true
echo "ok: nbd:// target equals the .img"

echo "== 5. a block device target that holds old bytes (a loop device)"
truncate -s "$DISK" "$WORK/dev.raw"
random_bytes $((4 << 20)) | dd of="$WORK/dev.raw" bs=1M seek=$((free_at >> 20)) conv=notrunc status=none  # old bytes in free space
dev=$(losetup -f --show "$WORK/dev.raw")
CLEANUP_LOOPS+=("$dev")
"$VDISKFS" restore start "$IMG" "$dev" --restart --wait -q || die "block device restore: $(field "$IMG" reason)"
"$VDISKFS" restore finish "$IMG" | grep -q "<source dev='$dev'/>" || die "finish: no libvirt block disk XML"
cmp "$IMG" "$dev" || die "the block device differs from the .img (old bytes in free space not zeroed?)"
losetup -d "$dev"
echo "ok: block device: old bytes in free space zeroed, equal to the .img"

echo "== 6. qcow2 target"
"$VDISKFS" restore start "$IMG" "$WORK/t5.qcow2" --restart --wait -q || die "qcow2 restore: $(field "$IMG" reason)"
"$VDISKFS" restore finish "$IMG" | grep -q -- "-drive file=$WORK/t5.qcow2,format=qcow2" || die "finish: no qcow2 -drive line"
qemu-img compare -f raw -F qcow2 "$IMG" "$WORK/t5.qcow2" || die "qemu-img compare: the qcow2 target differs"
qemu-img check -q "$WORK/t5.qcow2" || die "qemu-img check of the qcow2 target is not clean"
echo "ok: qcow2 target: identical, check clean"

echo "== 7. a container file that grows while restored (the exposed .qcow2, written through QEMU's qcow2 driver)"
QC=$M/src.qcow2
size_before=$(stat -c %s "$QC")
expect_status $EXIT_REFUSED "container file" "$VDISKFS" restore start "$QC" "nbd://127.0.0.1:1/x"
"$VDISKFS" restore start "$QC" "$WORK/t7.qcow2" --rate 4 -q  # a file, as it is, though named .qcow2
[ "$(field "$QC")" = copying ] || die "container restore: state $(field "$QC")"
qemu-io -f qcow2 -c "write -P 0xe1 $free_at 1M" -c "write -P 0xe2 $first_data 64k" "$QC" >/dev/null ||
    die "qemu-io write to the .qcow2 failed"
size_after=$(stat -c %s "$QC")
((size_after > size_before)) || die "the .qcow2 did not grow ($size_before -> $size_after bytes): the test writes no new cluster"
timeout 60 "$VDISKFS" restore wait "$QC" -q || die "container restore ended $(field "$QC"): $(field "$QC" reason)"
"$VDISKFS" restore finish "$QC" | grep -q -- "-drive file=$WORK/t7.qcow2,format=qcow2" || die "finish: no qcow2 -drive line"
cmp "$QC" "$WORK/t7.qcow2" || die "the restored .qcow2 differs from the mounted one"
qemu-img check -q "$WORK/t7.qcow2" || die "qemu-img check of the restored .qcow2 is not clean"
qemu-img compare -q -f qcow2 -F qcow2 "$QC" "$WORK/t7.qcow2" || die "qemu-img compare: the restored .qcow2 differs"
expect_pattern "$WORK/t7.qcow2" qcow2 "$free_at" 1048576 0xe1
expect_pattern "$WORK/t7.qcow2" qcow2 "$first_data" 65536 0xe2
unmount_fg "$M"
echo "ok: the .qcow2 grew $size_before -> $size_after bytes during its restore; the copy equals it, check clean"
