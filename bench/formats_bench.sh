#!/bin/bash
# formats_bench.sh [--no-record] [TREE] — sequential read throughput of each
# container file against the raw .img, in the same run.
#
# TREE defaults to the bench tree "formats" (made once in the bench cache):
# the `full` test tree (small and large files, sparse files, a 10,000-entry
# directory) plus 3 GiB of 64 MiB random files, so that one measure takes
# seconds and the machine's noise matters less.
# ROUNDS rounds (default 5); in each, every format is measured right next
# to the raw image, each measure on a fresh mount (so every byte goes
# through vdiskfs):
#   read:    build/interleaved_read of the raw .img and FILE side by side:
#            each read from start to end with 1 MiB read()s (as `dd bs=1M`),
#            in 16 steps that alternate between the two files, so that the
#            machine's drift (steal, busy neighbours: ±30% from one dd to
#            the next here) lands on both alike; ratio = the file's MiB/s /
#            the raw .img's MiB/s. It also sums the daemon's CPU seconds
#            during each file's steps, per GiB served;
#   convert: `qemu-img convert -n` of FILE into QEMU's null-co driver,
#            i.e. the guest disk read through QEMU's reader of the format
#            (sparse formats skip what is not allocated, as a real consumer
#            does); ratio = raw .img seconds / the format's seconds, per pair
#            (the pair's order swapped every round). Twice: with QEMU's
#            default file I/O (aio=threads: every read a round trip through
#            QEMU's thread pool) and with aio=io_uring.
# The table gives medians over the rounds, and the lowest and highest ratio.
# -flat.vmdk serves the very bytes of the raw image: its ratios show how
# much of a difference this machine's noise alone makes.
# The source is read again right before each measure, so that it is warm
# in the page cache every time (see warm_source).
# For reference, each file is also copied to local disk, alone, and
# converted there ROUNDS times, read just before each: "local ratio" is what
# QEMU's own reader of each format achieves against raw on a plain file, and
# "speed vs local copy" = local s / vdiskfs s of the same file (1: QEMU reads
# it through vdiskfs as fast as from a local copy in the page cache).
# Run as root after building (build/, including build/interleaved_read).
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
tree=${1:-}
: "${ROUNDS:=5}"
MP=$(mktemp -d /tmp/vdiskfs-fbench.XXXXXX)
BENCH_TEMP+=("$MP")
# The exposed files and QEMU's name for each come from the formats table
# (`vdiskfs info --json`), not from a list of our own.
empty=$(mktemp -d /tmp/vdiskfs-fbench-empty.XXXXXX)
FORMATS_JSON=$("$VDISKFS" info --json -q "$empty")
rmdir "$empty"
mapfile -t FILES < <(jq -r '.formats[].files[] | "bench" + .suffix' <<<"$FORMATS_JSON")

# Creates the default tree once.
ensure_tree() {
    [ -n "$tree" ] && return 0
    tree=$BENCH_CACHE/formats
    [ -d "$tree" ] && return 0
    mkdir -p "$BENCH_CACHE"
    rm -rf "$tree.partial"
    PATH=$REPO/build/test:$PATH bash "$REPO/test/integration/gen_tree.sh" full "$tree.partial" >&2
    mkdir "$tree.partial/large"
    for i in $(seq -w 1 48); do
        head -c $((64 << 20)) /dev/urandom >"$tree.partial/large/random-$i.bin"
    done
    mv "$tree.partial" "$tree"
}

# QEMU's format name (-f) for an exposed file.
fmt_of() {
    jq -r --arg f "$1" '[.formats[].files[] | select("bench" + .suffix == $f)][0].qemu_format' \
        <<<"$FORMATS_JSON"
}


# This machine's kernel pages out memory left idle for 30 s (DAMON
# "pageout"), page cache included: warm_source reads the tree's data again
# (holes skipped) right before each measure, so every measure finds it warm.
warm_source() { "$REPO/build/test/treetool" hash "$tree" >/dev/null; }

# on_fresh_mount CMD...: runs CMD (its output passes through; it may use
# $BENCH_PID) on a mount made just for it, the source warmed first.
on_fresh_mount() {
    local rc=0
    warm_source
    bench_mount "$MP" "$tree" bench
    "$@" || rc=$?
    bench_unmount
    return $rc
}

# measure FILE: sets M_CONV and M_URING (qemu-img convert s with aio=threads
# and aio=io_uring; M_URING empty where io_uring is unavailable), each on its
# own fresh mount.
measure() {
    # shellcheck disable=SC2046
    M_CONV=$(on_fresh_mount seconds $(convert_cmd "$MP/$1" "$disk" threads)) M_URING=""
    # shellcheck disable=SC2046
    if [ "$uring" = 1 ]; then M_URING=$(on_fresh_mount seconds $(convert_cmd "$MP/$1" "$disk" io_uring)); fi
}

# side_by_side FILE: build/interleaved_read of the raw image and FILE on the
# current mount, with the daemon's CPU.
side_by_side() { "$REPO/build/interleaved_read" --cpu-pid "$BENCH_PID" "$MP/bench.img" "$MP/$1"; }

# read_pair FILE: on a fresh mount, reads the raw image and FILE side by
# side; sets R_RAW and R_F ("bytes seconds cpu-seconds" of each).
read_pair() {
    local out
    out=$(on_fresh_mount side_by_side "$1") || { echo "interleaved_read failed" >&2; exit 1; }
    # The last three fields of each line: bytes seconds cpu-seconds.
    R_RAW=$(awk 'NR == 1 {print $(NF-2), $(NF-1), $NF}' <<<"$out")
    R_F=$(awk 'NR == 2 {print $(NF-2), $(NF-1), $NF}' <<<"$out")
}

# convert_cmd FILE DISK_BYTES AIO: QEMU reads FILE with its file driver in
# mode AIO (the extent of a -esx.vmdk descriptor too).
convert_cmd() {
    local opts="driver=$(fmt_of "$1"),file.driver=file,file.filename=$1,file.aio=$3"
    case $1 in *-esx.vmdk) opts+=",extents.0.driver=file,extents.0.aio=$3" ;; esac
    echo qemu-img convert -n --image-opts "$opts" --target-image-opts "driver=null-co,size=$2"
}

# Whether this kernel and QEMU let qemu-img read with io_uring.
uring_works() {
    local f
    f=$(mktemp /tmp/vdiskfs-uring.XXXXXX)
    head -c 1048576 /dev/zero >"$f"
    local rc=0
    # shellcheck disable=SC2046
    $(convert_cmd "$f" 1048576 io_uring) >/dev/null 2>&1 || rc=1
    rm -f "$f"
    return $rc
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
lowest() { tr ' ' '\n' | grep . | sort -g | head -1; }
highest() { tr ' ' '\n' | grep . | sort -g | tail -1; }

# mibs BYTES SECONDS CPU: MiB/s; cpu_per_gib BYTES SECONDS CPU: CPU s per GiB.
mibs() { echo "$1 / 1048576 / $2" | bc -l; }
cpu_per_gib() { echo "$3 * 1073741824 / $1" | bc -l; }

# median_ratio TIMES_A TIMES_B: median A seconds / median B seconds.
median_ratio() { echo "$(median <<<"$1") / $(median <<<"$2")" | bc -l; }

# ratio_cell VALUES: "median (lowest–highest)" of the ratios in VALUES.
ratio_cell() { printf '%.2f (%.2f–%.2f)' "$(median <<<"$1")" "$(lowest <<<"$1")" "$(highest <<<"$1")"; }

main() {
    [ -x "$REPO/build/interleaved_read" ] ||
        { echo "build/interleaved_read is missing: cmake --build build -j2" >&2; exit 1; }
    ensure_tree
    local disk f r uring=0
    uring_works && uring=1
    bench_mount "$MP" "$tree" bench
    disk=$(stat -c %s "$MP/bench.img")
    declare -A size
    for f in "${FILES[@]}"; do size[$f]=$(stat -c %s "$MP/$f"); done
    bench_unmount

    # Each format is measured right next to the raw image: convert in
    # pairs whose order swaps every round, reads side by side. conv/uring_t/
    # read_mibs/cpu_gib collect the figures of each file, *_ratio the ratios
    # of each pair.
    declare -A conv uring_t read_mibs cpu_gib conv_ratio uring_ratio read_ratio
    local raw=bench.img c_raw c_f u_raw u_f mibs_raw mibs_f
    for ((r = 1; r <= ROUNDS; r++)); do
        for f in "${FILES[@]}"; do
            [ "$f" = "$raw" ] && continue
            if ((r % 2)); then
                measure "$raw"; c_raw=$M_CONV u_raw=$M_URING
                measure "$f"; c_f=$M_CONV u_f=$M_URING
            else
                measure "$f"; c_f=$M_CONV u_f=$M_URING
                measure "$raw"; c_raw=$M_CONV u_raw=$M_URING
            fi
            conv[$raw]+=" $c_raw" conv[$f]+=" $c_f"
            conv_ratio[$f]+=" $(echo "$c_raw / $c_f" | bc -l)"
            if [ -n "$u_f" ]; then
                uring_t[$raw]+=" $u_raw" uring_t[$f]+=" $u_f"
                uring_ratio[$f]+=" $(echo "$u_raw / $u_f" | bc -l)"
            fi
            [ "$f" = bench-esx.vmdk ] && continue  # a descriptor: its data is -flat.vmdk
            read_pair "$f"
            # shellcheck disable=SC2086  # "bytes seconds cpu" as three arguments
            mibs_raw=$(mibs $R_RAW) mibs_f=$(mibs $R_F)
            read_mibs[$raw]+=" $mibs_raw" read_mibs[$f]+=" $mibs_f"
            # shellcheck disable=SC2086
            cpu_gib[$raw]+=" $(cpu_per_gib $R_RAW)" cpu_gib[$f]+=" $(cpu_per_gib $R_F)"
            read_ratio[$f]+=" $(echo "$mibs_f / $mibs_raw" | bc -l)"
        done
        echo "round $r of $ROUNDS done" >&2
    done
    conv_ratio[$raw]=1 uring_ratio[$raw]=1 read_ratio[$raw]=1

    # The local reference: one plain copy at a time, converted by QEMU in
    # both I/O modes. A -esx.vmdk needs its -flat.vmdk beside it.
    declare -A local_conv local_uring
    local ref=$BENCH_CACHE/formats-local
    BENCH_TEMP+=("$ref")
    for f in "${FILES[@]}"; do
        rm -rf "$ref" && mkdir -p "$ref"
        bench_mount "$MP" "$tree" bench
        cp --sparse=always "$MP/$f" "$ref/$f"
        [ "$f" = bench-esx.vmdk ] && cp --sparse=always "$MP/bench-flat.vmdk" "$ref/"
        bench_unmount
        for ((r = 1; r <= ROUNDS; r++)); do
            cat "$ref"/* >/dev/null
            # shellcheck disable=SC2046
            local_conv[$f]+=" $(seconds $(convert_cmd "$ref/$f" "$disk" threads))"
            # shellcheck disable=SC2046
            if [ "$uring" = 1 ]; then local_uring[$f]+=" $(seconds $(convert_cmd "$ref/$f" "$disk" io_uring))"; fi
        done
    done
    rm -rf "$ref"

    local table="" cell
    for f in "${FILES[@]}"; do
        table+=$(printf '| %s | %s | %.1f | %.3f | %s | %.2f | %.2f |' \
            "$f" "$(fmt_of "$f")" "$(echo "${size[$f]} / 1048576" | bc -l)" \
            "$(median <<<"${conv[$f]}")" "$(ratio_cell "${conv_ratio[$f]}")" \
            "$(median_ratio "${local_conv[bench.img]}" "${local_conv[$f]}")" \
            "$(median_ratio "${local_conv[$f]}" "${conv[$f]}")")
        cell=' n/a | n/a | n/a | n/a |'
        if [ "$uring" = 1 ]; then cell=$(printf ' %.3f | %s | %.2f | %.2f |' "$(median <<<"${uring_t[$f]}")" \
            "$(ratio_cell "${uring_ratio[$f]}")" \
            "$(median_ratio "${local_uring[bench.img]}" "${local_uring[$f]}")" \
            "$(median_ratio "${local_uring[$f]}" "${uring_t[$f]}")"); fi
        table+=$cell
        if [ -n "${read_mibs[$f]:-}" ]; then
            table+=$(printf ' %.0f | %s | %.2f |' "$(median <<<"${read_mibs[$f]}")" \
                "$(ratio_cell "${read_ratio[$f]}")" "$(median <<<"${cpu_gib[$f]}")")
        else
            table+=' | (a descriptor: its data is bench-flat.vmdk) | |'
        fi
        table+=$'\n'
    done
    local out
    out=$(printf '## %s — formats_bench.sh\n\n- command: `%sbash bench/formats_bench.sh%s`\n- machine: %s, load average at start %s\n- tree: %s (%s entries, %s MiB on disk), warm page cache; raw image %s MiB; %s rounds, each measure on a fresh mount; medians, (lowest–highest ratio)\n' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "$([ "$ROUNDS" = 5 ] || echo "ROUNDS=$ROUNDS ")" "${MOUNT_OPTS:+ (MOUNT_OPTS=$MOUNT_OPTS)}${1:+ $1}" \
        "$(machine_line)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$tree" "$(find "$tree" | wc -l)" \
        "$(du -sm "$tree" | cut -f1)" "$((disk / 1048576))" "$ROUNDS")
    out+=$'\n\n| file | qemu format | file MiB | convert s (aio=threads) | ratio vs raw | local ratio vs raw | speed vs local copy | convert s (aio=io_uring) | ratio vs raw | local ratio vs raw | speed vs local copy | read MiB/s (side by side with raw) | read ratio vs raw | vdiskfs CPU s per GiB (read) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
    out+=$table
    record_block "$out"
}
main "$@"
