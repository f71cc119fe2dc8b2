#!/bin/bash
# restore_bench.sh [--no-record] [MIB]: `vdiskfs restore` against copying
# the .img, in the same run, on a disk with MIB MiB of file data:
#   copy:  `cp --sparse=always MP/x.img` (reads every byte, free space
#          included, writes holes for zeros) against `vdiskfs restore start
#          MP/x.img T --wait` to a new raw file on the same filesystem (its
#          copy phase, and copy + verification);
#   busy:  the same restore while fio reads 4 KiB at random (O_DIRECT) from
#          the .img's data, against the restore alone;
#   guest: fio's random 4 KiB reads alone for 10 s, against fio while
#          restores run back to back: how much the copy slows the guest.
# Run as root after building into build/.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
MIB=${1:-512}
for t in fio:fio bc:bc jq:jq; do
    command -v "${t%%:*}" >/dev/null || { echo "'${t%%:*}' is missing: install the Debian package '${t#*:}'" >&2; exit 1; }
done
WORK=$(mktemp -d "$BENCH_CACHE/restore-bench.XXXXXX")
MP=$WORK/mnt
BENCH_TEMP+=("$WORK")
mkdir -p "$WORK/src" "$MP"
for i in 1 2 3 4; do head -c $((MIB * 1048576 / 4)) /dev/urandom >"$WORK/src/data$i"; done
bench_mount "$MP" "$WORK/src" x --formats img --delta "$WORK/delta" --log "$WORK/vdiskfs.log"
IMG=$MP/x.img

now() { date +%s.%N; }
# restore_times TARGET: "copy_s total_s" of a restore to a new TARGET.
restore_times() {
    local t0 t_copy="" s
    t0=$(now)
    "$VDISKFS" restore start "$IMG" "$1" --restart -q
    while :; do
        s=$("$VDISKFS" restore status --json "$IMG" | jq -r '.[0].state')
        [ "$s" = copying ] || { [ -n "$t_copy" ] || t_copy=$(now); }
        case $s in verified) break ;; copying | verifying) ;; *) echo "restore ended $s" >&2; exit 1 ;; esac
        sleep 0.02
    done
    echo "$(echo "$t_copy - $t0" | bc -l) $(echo "$(now) - $t0" | bc -l)"
    "$VDISKFS" restore stop "$IMG" -q
    rm -f "$1"
}
# Random 4 KiB O_DIRECT reads of the data, as a guest's.
fio_args=(--name=guest --filename="$IMG" --readonly --direct=1 --rw=randread --bs=4k --ioengine=psync
    --offset=1M --size="$MIB"M --time_based --output-format=json)
fio_job() { fio "${fio_args[@]}" --runtime="$1" 2>/dev/null | jq '.jobs[0].read.iops | floor'; }  # IOPS

cat "$WORK"/src/data* >/dev/null
t0=$(now)
cp --sparse=always "$IMG" "$WORK/cp.img"
sync -f "$WORK/cp.img"
cp_s=$(echo "$(now) - $t0" | bc -l)
rm -f "$WORK/cp.img"
read -r copy_s total_s < <(restore_times "$WORK/r1.img")

# With a reader.
fio "${fio_args[@]}" --runtime=600 >/dev/null 2>&1 &
fio_pid=$!
sleep 1
read -r busy_copy_s busy_total_s < <(restore_times "$WORK/r2.img")
kill "$fio_pid" 2>/dev/null; wait "$fio_pid" 2>/dev/null || true

iops_alone=$(fio_job 10)
# Back to back, each waited for inside one `restore start --wait` (its
# polls, 4 a second, are the only CLI work while fio runs).
loop_restore() {
    "$VDISKFS" restore start "$IMG" "$1" --restart --wait -q && "$VDISKFS" restore stop "$IMG" -q && rm -f "$1"
}
( i=0; while [ ! -e "$WORK/stop" ]; do loop_restore "$WORK/loop$((i++)).img" || exit; done ) &
loop_pid=$!
sleep 0.5
iops_busy=$(fio_job 10)
touch "$WORK/stop"
wait "$loop_pid" || true
bench_unmount

r() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
out=$(printf '## %s — restore_bench.sh\n\n- command: `bash bench/restore_bench.sh %s`\n- machine: %s; targets on %s\n\n| measure | vdiskfs | baseline | ratio (baseline / vdiskfs) |\n|---|---:|---:|---:|\n| copy phase vs `cp --sparse=always` of the .img (s) | %.2f | %.2f | %s |\n| copy + verification vs `cp --sparse=always` (s) | %.2f | %.2f | %s |\n| copy phase while fio reads vs alone (s) | %.2f | %.2f | %s |\n| copy + verification while fio reads vs alone (s) | %.2f | %.2f | %s |\n| guest random 4 KiB reads (IOPS) during restores vs alone | %s | %s | %s |\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$MIB" "$(machine_line)" "$(df --output=fstype "$WORK" | tail -1)" \
    "$copy_s" "$cp_s" "$(r "$cp_s" "$copy_s")" "$total_s" "$cp_s" "$(r "$cp_s" "$total_s")" \
    "$busy_copy_s" "$copy_s" "$(r "$copy_s" "$busy_copy_s")" "$busy_total_s" "$total_s" "$(r "$total_s" "$busy_total_s")" \
    "$iops_busy" "$iops_alone" "$(r "$iops_alone" "$iops_busy")")
record_block "$out"
