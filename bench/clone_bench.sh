#!/bin/bash
# clone_bench.sh [--no-record] [MIB]: what clones cost, in the same run:
#   clone: `vdiskfs clone` of a disk whose delta holds MIB of writes (made
#          by the serving daemon), time and bytes added to the filesystem,
#          against `cp -a` of that delta folder (what a copy would cost);
#   chain: reading the MIB written (dd bs=1M after dropping the page cache,
#          best of 3) through a disk standing on 10 frozen layers (MIB/10
#          written, then a clone, ten times) against one that stands on one
#          layer holding the same bytes.
# Run as root after building into build/.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
MIB=${1:-500}
STEP=$((MIB / 10))
WORK=$(mktemp -d "$BENCH_CACHE/clone-bench.XXXXXX")
MP=$WORK/mnt
C=$WORK/catalog.db
BENCH_TEMP+=("$WORK")
SERVE_PID=""
trap 'if [ -n "$SERVE_PID" ]; then fusermount3 -u "$MP" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; fi; bench_cleanup' EXIT

serve_start() {
    "$VDISKFS" serve -f -q "$MP" --catalog "$C" --formats img 2>>"$WORK/serve.log" &
    SERVE_PID=$!
    local d i
    for d in "$@"; do
        for ((i = 0; i < 3000; i++)); do
            [ -e "$MP/$d/$d.img" ] && break
            kill -0 "$SERVE_PID" || { echo "serve failed: $(cat "$WORK/serve.log")" >&2; exit 1; }
            sleep 0.02
        done
    done
}
serve_stop() { fusermount3 -u "$MP"; wait "$SERVE_PID"; SERVE_PID=""; }
# write_at DISK MIB_OFFSET MIB: random bytes into DISK's .img, synced.
write_at() { head -c $(($3 << 20)) "$WORK/random" | dd of="$MP/$1/$1.img" bs=1M seek=$(($2 + 64)) conv=notrunc,fsync status=none; }
# read_region DISK: best of 3 reads of the MIB written, page cache dropped.
read_region() {
    local best="" t i
    for i in 1 2 3; do
        sync
        echo 3 >/proc/sys/vm/drop_caches
        t=$(seconds dd if="$MP/$1/$1.img" of=/dev/null bs=1M skip=64 count="$MIB")
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    echo "$best"
}
used() { du -sb "$WORK/state" "$WORK/layers" 2>/dev/null | awk '{ n += $1 } END { print n }'; }

mkdir -p "$MP" "$WORK/src" "$WORK/state" "$WORK/layers"
head -c $((16 << 20)) /dev/urandom >"$WORK/src/data"
head -c $((MIB << 20)) /dev/urandom >"$WORK/random"
for d in web deep flat; do
    "$VDISKFS" catalog --catalog "$C" add "$d" "$WORK/src" --delta "$WORK/state/$d" >/dev/null
done

# Clone cost: web holds MIB of writes.
serve_start web deep flat
write_at web 0 "$MIB"
copy_s=$(seconds cp -a "$WORK/state/web" "$WORK/web.copy")
copy_bytes=$(du -sb "$WORK/web.copy" | cut -f1)
rm -rf "$WORK/web.copy"
before=$(used)
clone_s=$(seconds "$VDISKFS" clone --catalog "$C" web web-c --delta "$WORK/state/web-c")
clone_bytes=$(($(used) - before))

# Chains: deep gets ten layers, flat one, over the same bytes.
for k in $(seq 0 9); do
    write_at deep $((k * STEP)) "$STEP"
    "$VDISKFS" clone --catalog "$C" deep "deep-$k" --delta "$WORK/state/deep-$k" >/dev/null
done
for k in $(seq 0 9); do write_at flat $((k * STEP)) "$STEP"; done
"$VDISKFS" clone --catalog "$C" flat flat-c --delta "$WORK/state/flat-c" >/dev/null
serve_stop
layers_deep=$("$VDISKFS" catalog --catalog "$C" show deep --json | jq '.layers | length')
layers_flat=$("$VDISKFS" catalog --catalog "$C" show flat --json | jq '.layers | length')
serve_start deep flat
cmp <(dd if="$MP/deep/deep.img" bs=1M skip=64 count=$((STEP * 10)) status=none) \
    <(dd if="$MP/flat/flat.img" bs=1M skip=64 count=$((STEP * 10)) status=none) || { echo "deep and flat differ" >&2; exit 1; }
deep_s=$(read_region deep)
flat_s=$(read_region flat)
serve_stop

mbps() { printf '%.0f' "$(echo "$1 / $2" | bc -l)"; }
out=$(printf '## %s — clone_bench.sh\n\n- command: `bash bench/clone_bench.sh %s`\n- machine: %s; deltas on %s\n\n| measure | vdiskfs | baseline | ratio (baseline / vdiskfs) |\n|---|---:|---:|---:|\n| clone of a served disk with %s MiB written (asked of the daemon: includes its catalog poll, up to 0.25 s): time s, vs cp -a of its delta | %.3f | %.3f | %.1f |\n| bytes the clone added, vs the copy | %s | %s | %s |\n| read %s MiB written: %s layers vs %s layer, s (MiB/s) | %.3f (%s) | %.3f (%s) | %.2f |\n' \
    "$(date -u '+%Y-%m-%d %H:%M UTC')" "$MIB" "$(machine_line)" "$(df --output=fstype "$WORK" | tail -1)" \
    "$MIB" "$clone_s" "$copy_s" "$(echo "$copy_s / $clone_s" | bc -l)" \
    "$clone_bytes" "$copy_bytes" "$(if [ "$clone_bytes" -gt 0 ]; then echo "$copy_bytes / $clone_bytes" | bc; else echo "n/a"; fi)" \
    "$MIB" "$layers_deep" "$layers_flat" "$deep_s" "$(mbps "$MIB" "$deep_s")" "$flat_s" "$(mbps "$MIB" "$flat_s")" \
    "$(echo "$flat_s / $deep_s" | bc -l)")
record_block "$out"
