#!/bin/bash
# delta_bench.sh [--no-record] [MIB]: the cost of deltas, in the same run:
#   write: `dd if=/dev/zero of=<mp>/x.img bs=1M count=MIB conv=notrunc,fsync`
#          through a mount with a persistent delta, against the same dd into
#          a plain file on the delta's filesystem;
#   read:  `dd if=<mp>/x.img of=/dev/null bs=1M` of an unmodified disk with an
#          empty delta, against --read-only (no delta), each on a fresh mount.
# Run as root after building into build/.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
MIB=${1:-512}
WORK=$(mktemp -d "$BENCH_CACHE/delta-bench.XXXXXX")
MP=$WORK/mnt
BENCH_TEMP+=("$WORK")

mount_src() { bench_mount "$MP" "$WORK/src" x --formats img "$@"; }
unmount_src() { bench_unmount; }

# seconds CMD...: wall time of CMD.
seconds() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}

mkdir -p "$WORK/src" "$MP"
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$WORK/src/data"  # a disk with MIB of file data
cat "$WORK/src/data" >/dev/null

plain=$(seconds dd if=/dev/zero of="$WORK/plain" bs=1M count="$MIB" conv=fsync)
rm -f "$WORK/plain"
mount_src --delta "$WORK/delta"
through=$(seconds dd if=/dev/zero of="$MP/x.img" bs=1M count="$MIB" seek=64 conv=notrunc,fsync)
unmount_src
rm -rf "$WORK/delta"

mount_src --delta "$WORK/delta"
read_delta=$(seconds dd if="$MP/x.img" of=/dev/null bs=1M)
unmount_src
mount_src --read-only
read_plain=$(seconds dd if="$MP/x.img" of=/dev/null bs=1M)
unmount_src

mbps() { printf '%.0f' "$(echo "$1 / $2" | bc -l)"; }
size_mib=$(($(stat -c %s "$WORK/src/data") / 1048576))
out=$(printf '## %s — delta_bench.sh\n\n- command: `bash bench/delta_bench.sh %s`\n- machine: %s; delta and plain file on %s\n\n| measure | vdiskfs s | MiB/s | baseline s | MiB/s | ratio (baseline s / vdiskfs s) |\n|---|---:|---:|---:|---:|---:|\n| write %s MiB, dd conv=fsync: delta vs plain file | %.3f | %s | %.3f | %s | %.2f |\n| read whole image (%s MiB data): empty delta vs --read-only | %.3f | %s | %.3f | %s | %.2f |\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$MIB" "$(machine_line)" "$(df --output=fstype "$WORK" | tail -1)" \
    "$MIB" "$through" "$(mbps "$MIB" "$through")" "$plain" "$(mbps "$MIB" "$plain")" "$(echo "$plain / $through" | bc -l)" \
    "$size_mib" "$read_delta" "-" "$read_plain" "-" "$(echo "$read_plain / $read_delta" | bc -l)")
record_block "$out"
