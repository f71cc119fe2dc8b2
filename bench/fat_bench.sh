#!/usr/bin/env bash
# fat_bench.sh [--no-record] [COUNT] — FAT32 from a tree of COUNT small files
# (default 100000): time to ready and peak RSS of `vdiskfs mount --fs fat32`
# against `--fs ext4` and against nbdkit's floppy plugin (which also builds
# a FAT32 disk from a directory), and two whole-disk reads by 4 parallel
# readers:
#   copy: nbdcopy to null: with 4 threads (vdiskfs: the <name>.img file,
#         whose holes nbdcopy finds by SEEK_DATA/SEEK_HOLE) or 4 connections
#         (floppy: its holes by NBD block status): the same tool on both
#         sides, each skipping what its disk says is free;
#   every byte: 4 dd's of a quarter each (vdiskfs) against nbdcopy
#         --no-extents with 4 connections (floppy).
# Rounds alternate the three, in one invocation, warm cache; ratios are per
# round, the table gives their median.
#
# Environment: VDISKFS, BENCH_CACHE, RESULTS (see common.sh), ROUNDS (3).
# Needs root, fusermount3, nbdkit with its floppy plugin (Debian: nbdkit),
# nbdcopy and nbdinfo (libnbd-bin), treetool (build/test) for the tree.
source "$(dirname "$0")/common.sh"
export LC_ALL=C
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
count=${1:-100000}
: "${ROUNDS:=3}"
for t in nbdkit nbdcopy nbdinfo fusermount3; do
    command -v $t >/dev/null || { echo "fat_bench.sh: $t missing (apt-get install nbdkit libnbd-bin fuse3)" >&2; exit 1; }
done

tree=$BENCH_CACHE/many-$count
if [ ! -d "$tree" ]; then
    mkdir -p "$BENCH_CACHE"
    PATH=$REPO/build/test:$PATH bash "$REPO/test/integration/gen_tree.sh" many "$count" "$tree.partial" >&2
    mv "$tree.partial" "$tree"
fi
WORKD=$(mktemp -d /tmp/vdiskfs-fatbench.XXXXXX)
BENCH_TEMP+=("$WORKD")
MP=$WORKD/mnt
mkdir -p "$MP"
NBD_PID=""
stop_nbdkit() {
    [ -n "$NBD_PID" ] || return 0
    kill "$NBD_PID" 2>/dev/null || true
    wait "$NBD_PID" 2>/dev/null || true
    NBD_PID=""
}
trap 'stop_nbdkit; bench_cleanup' EXIT

now() { date +%s.%N; }
# Peak resident set of a pid, KiB.
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# read4 FILE: reads FILE by 4 parallel dd's (a quarter each); prints seconds.
read4() {
    local size q t0 i pids=()
    size=$(stat -c %s "$1")
    q=$(((size / 4 + 1048575) / 1048576))
    t0=$(now)
    for i in 0 1 2 3; do
        dd if="$1" of=/dev/null bs=1M skip=$((i * q)) count=$q status=none &
        pids+=($!)
    done
    wait "${pids[@]}"
    echo "$(now) - $t0" | bc
}

# timed CMD...: runs CMD; prints its seconds.
timed() {
    local t0
    t0=$(now)
    "$@" || exit 1
    echo "$(now) - $t0" | bc
}

# run_vdiskfs FS: one mount for each read (a fresh mount: nothing of the
# disk in the page cache); sets READY (s), RSS (KiB), COPY (s), READ (s),
# BYTES.
run_vdiskfs() {
    local t0
    t0=$(now)
    bench_mount "$MP" "$tree" bench --read-only --fs "$1"
    READY=$(echo "$(now) - $t0" | bc)
    RSS=$(hwm "$BENCH_PID")
    BYTES=$(stat -c %s "$MP/bench.img")
    COPY=$(timed nbdcopy --threads=4 "$MP/bench.img" null:)
    bench_unmount
    bench_mount "$MP" "$tree" bench --read-only --fs "$1"
    READ=$(read4 "$MP/bench.img")
    bench_unmount
}

# start_floppy: nbdkit floppy on a unix socket; sets SOCK_URI, NBD_PID,
# READY (s), BYTES.
start_floppy() {
    local sock=$WORKD/nbd.sock t0 i
    rm -f "$sock"
    SOCK_URI="nbd+unix:///?socket=$sock"
    t0=$(now)
    nbdkit -f -U "$sock" floppy "$tree" 2>"$WORKD/nbdkit.log" &
    NBD_PID=$!
    for ((i = 0; i < 60000; i++)); do
        BYTES=$(nbdinfo --size "nbd+unix:///?socket=$sock" 2>/dev/null) && break
        kill -0 "$NBD_PID" 2>/dev/null || { cat "$WORKD/nbdkit.log" >&2; exit 1; }
        sleep 0.01
    done
    READY=$(echo "$(now) - $t0" | bc)
}

# run_floppy: the same measures as run_vdiskfs, a fresh nbdkit per read.
run_floppy() {
    start_floppy
    RSS=$(hwm "$NBD_PID")
    COPY=$(timed nbdcopy --connections=4 "$SOCK_URI" null:)
    stop_nbdkit
    start_floppy
    READ=$(timed nbdcopy --no-extents --connections=4 "$SOCK_URI" null:)
    stop_nbdkit
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
declare -A ready rss rate secs copy size
for ((r = 1; r <= ROUNDS; r++)); do
    for who in fat32 ext4 floppy; do
        if [ $who = floppy ]; then run_floppy; else run_vdiskfs $who; fi
        ready[$who]+="$READY "
        rss[$who]+="$RSS "
        rate[$who]+="$(echo "$BYTES / $READ / 1048576" | bc -l) "
        secs[$who]+="$READ "
        copy[$who]+="$COPY "
        size[$who]=$((BYTES >> 20))
        printf 'round %d %-6s ready %6.2f s  rss %7d KiB  copy %6.2f s  every byte %6.2f s (%d MiB)\n' \
            "$r" $who "$READY" "$RSS" "$COPY" "$READ" $((BYTES >> 20)) >&2
    done
done
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
row() {
    printf '| %s | %.2f | %d | %d | %.2f | %.2f | %.0f |' "$1" "$(med "${ready[$1]}")" "$(med "${rss[$1]}")" \
        "${size[$1]}" "$(med "${copy[$1]}")" "$(med "${secs[$1]}")" "$(med "${rate[$1]}")"
}
ratio() { echo "scale=2; $(med "$1") / $(med "$2")" | bc; }
block="## $(date -u +%Y-%m-%d) fat_bench: FAT32 of $count files vs ext4 and nbdkit floppy

Command: \`bench/fat_bench.sh $count\` (ROUNDS=$ROUNDS, alternating, warm cache; median of rounds).
Machine: $(machine_line).
vdiskfs: $VDISKFS, tree at commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown).

| disk | ready (s) | peak RSS (KiB) | disk (MiB) | copy: nbdcopy, 4 readers, holes skipped (s) | every byte, 4 readers (s) | every byte (MiB/s) |
|---|---|---|---|---|---|---|
$(row fat32)
$(row ext4)
$(row floppy)

Ratios: ready time floppy / vdiskfs fat32 = $(ratio "${ready[floppy]}" "${ready[fat32]}") (above 1: vdiskfs faster); RSS fat32 / floppy = $(ratio "${rss[fat32]}" "${rss[floppy]}"); whole-disk copy time (nbdcopy, holes skipped) floppy / fat32 = $(ratio "${copy[floppy]}" "${copy[fat32]}"); every-byte read time floppy / fat32 = $(ratio "${secs[floppy]}" "${secs[fat32]}") (the vdiskfs disk also holds its free space, 20% or at least 256 MiB, read as zeros); every-byte read rate fat32 / floppy = $(ratio "${rate[fat32]}" "${rate[floppy]}"); ready time fat32 / ext4 = $(ratio "${ready[fat32]}" "${ready[ext4]}")."
record_block "$block"
