#!/usr/bin/env bash
# mount_bench.sh [--no-record] [COUNTS...] — time to a readable image, RAM per
# file and sequential read speed of `vdiskfs mount` over trees of many small
# files, against `tar cf - SOURCE | cat >/dev/null` of the same tree, warm cache.
#
#   COUNTS        numbers of files (default: 10000 100000 1000000)
#   --no-record   print the tables only; do not append them to RESULTS.md
#
# Environment:
#   VDISKFS       the binary (default: <repo>/build/vdiskfs)
#   MOUNT_OPTS    extra options for `vdiskfs mount` (e.g. --direct-io)
#   BENCH_CACHE   where generated trees are kept and reused
#                 (default: /var/tmp/vdiskfs-bench; trees are many-N)
#   RESULTS       file the results block is appended to
#                 (default: <repo>/bench/RESULTS.md; /dev/null = do not record)
#   READY_TIMEOUT seconds to wait for a mount to become readable (default: 600)
#
# Needs root (FUSE mounts), fusermount3, tar, dd, jq, awk.
set -euo pipefail

export LC_ALL=C TZ=UTC

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
readonly BENCH_DIR REPO
readonly GEN_TREE=$REPO/test/integration/gen_tree.sh
readonly NAME=bench                      # the image is MOUNTPOINT/bench.img
readonly DEFAULT_COUNTS=(10000 100000 1000000)
# Settings given in the environment, recorded with the command line.
ENV_GIVEN=""
for _v in VDISKFS BENCH_CACHE RESULTS READY_TIMEOUT MOUNT_OPTS; do
    if [[ -n ${!_v:-} ]]; then ENV_GIVEN+=$(printf '%s=%q ' "$_v" "${!_v}"); fi
done
unset _v
: "${VDISKFS:=$REPO/build/vdiskfs}"
: "${BENCH_CACHE:=/var/tmp/vdiskfs-bench}"
: "${MOUNT_OPTS:=}"  # extra `vdiskfs mount` options, e.g. --direct-io
: "${RESULTS:=$BENCH_DIR/RESULTS.md}"
: "${READY_TIMEOUT:=600}"

# State of the mount in progress, for cleanup.
MP=""        # mount point (a temp folder)
PID=""       # pid of the foreground vdiskfs process
LOG=""       # its log file
WORK=""      # temp folder for logs and dd output

# Results, filled by bench_empty and bench_count.
MOUNT_ROWS=()
READ_ROWS=()
BASE_HWM_READY=0   # VmHWM (KiB) of an empty-dir mount when ready
BASE_HWM_READ=0    # ... and after its whole image was read

# Prints a progress line with a timestamp on stderr.
say() {
    printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# Prints an error (and the tail of the current vdiskfs log, if any) and exits.
die() {
    echo "mount_bench.sh: $*" >&2
    if [[ -n $LOG && -s $LOG ]]; then
        echo "--- last lines of $LOG:" >&2
        tail -n 20 "$LOG" >&2
    fi
    exit 1
}

# Prints usage and exits with status 2.
usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

# Unmounts and stops whatever mount is in progress; removes temp folders.
cleanup() {
    local rc=$?
    set +e
    if [[ -n $MP ]] && grep -qs " $MP " /proc/self/mounts; then
        fusermount3 -u "$MP" 2>/dev/null || fusermount3 -uz "$MP" 2>/dev/null
    fi
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
        kill "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    [[ -n $MP ]] && rmdir "$MP" 2>/dev/null
    if [[ -n $WORK ]]; then
        if ((rc == 0)); then rm -rf "$WORK"; else echo "mount_bench.sh: logs kept in $WORK" >&2; fi
    fi
    exit "$rc"
}

# Prints the wall clock in seconds with nanoseconds.
now() {
    date +%s.%N
}

# calc FORMAT EXPR [NAME=VALUE...]: evaluates EXPR with awk and prints it with FORMAT.
calc() {
    local fmt=$1 expr=$2 vars=() v
    shift 2
    for v in "$@"; do vars+=(-v "$v"); done
    awk "${vars[@]}" "BEGIN { printf \"$fmt\", $expr }"
}

# Prints field FIELD (in KiB) of /proc/PID/status, e.g. VmRSS or VmHWM.
proc_kib() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

# Fails unless a tool is on PATH.
require() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is missing: install the Debian package '$2'"
}

# Checks the environment before anything slow starts.
preflight() {
    [[ $(id -u) -eq 0 ]] || die "needs root (FUSE mounts)"
    [[ -x $VDISKFS ]] || die "$VDISKFS not found: build it with 'make -C $REPO/build -j2 vdiskfs'"
    [[ -e /dev/fuse ]] || die "/dev/fuse is missing"
    require fusermount3 fuse3
    require jq jq
    require tar tar
    require awk mawk
    [[ -f $GEN_TREE ]] || die "$GEN_TREE not found"
    [[ $READY_TIMEOUT =~ ^[0-9]+$ ]] || die "READY_TIMEOUT must be whole seconds"
}

# ensure_tree N: prints the cached tree of N files, generating it first if missing.
# Generation writes to DIR.partial and renames at the end, so an interrupted run
# never leaves a half tree that a later run would reuse.
ensure_tree() {
    local n=$1 dir=$BENCH_CACHE/many-$1 t0
    if [[ ! -d $dir ]]; then
        mkdir -p "$BENCH_CACHE"
        rm -rf "$dir.partial"
        say "generating $n files into $dir (once; reused by later runs)"
        t0=$(now)
        bash "$GEN_TREE" many "$n" "$dir.partial" >&2
        mv "$dir.partial" "$dir"
        say "generated in $(calc %.0f "$(now) - t0" t0="$t0") s"
    fi
    printf '%s\n' "$dir"
}

# warm_tree DIR N: reads the tree's metadata and data once so that every later
# measurement runs against a warm page cache; checks the tree still has N files.
warm_tree() {
    local dir=$1 n=$2 files
    say "warming $dir (find, tar)"
    find "$dir" >/dev/null
    files=$(find "$dir" -type f | wc -l)
    ((files == n)) || die "$dir holds $files files, not $n: delete it and run again"
    tar cf - -C "$dir" . | cat >/dev/null
}

# start_mount SRC: starts `vdiskfs mount -f` in the background and waits until
# MP/NAME.img can be stat-ed and its first 4 KiB read, polling every 10 ms.
# Sets PID, and READY to the seconds from the start to that moment.
start_mount() {
    local src=$1 img=$MP/$NAME.img t0 t1 deadline=$((SECONDS + READY_TIMEOUT))
    t0=$(now)
    # shellcheck disable=SC2086
    "$VDISKFS" mount -f "$src" "$MP" --name "$NAME" $MOUNT_OPTS 2>>"$LOG" &
    PID=$!
    while :; do
        if [[ -e $img ]] && [[ $(head -c 4096 "$img" 2>/dev/null | wc -c) -eq 4096 ]]; then
            t1=$(now)
            break
        fi
        kill -0 "$PID" 2>/dev/null || die "vdiskfs exited before $img became readable"
        ((SECONDS < deadline)) || die "$img not readable after $READY_TIMEOUT s"
        sleep 0.01
    done
    READY=$(calc %.3f "t1 - t0" t1="$t1" t0="$t0")
}

# stop_mount: unmounts MP and waits (up to 30 s) for the vdiskfs process to exit.
stop_mount() {
    local i rc=0
    fusermount3 -u "$MP" || die "fusermount3 -u $MP failed"
    for ((i = 0; i < 3000; i++)); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.01
    done
    kill -0 "$PID" 2>/dev/null && die "vdiskfs (pid $PID) still running 30 s after unmount"
    wait "$PID" || rc=$?
    PID=""
    ((rc == 0)) || die "vdiskfs exited with status $rc after unmount"
}

# read_image: reads MP/NAME.img with `dd bs=1M`, checks every byte arrived,
# and prints the seconds it took.
read_image() {
    local img=$MP/$NAME.img size bytes t0 t1
    size=$(stat -c %s "$img")
    t0=$(now)
    dd if="$img" of=/dev/null bs=1M 2>"$WORK/dd.err" || die "dd failed: $(cat "$WORK/dd.err")"
    t1=$(now)
    bytes=$(awk '/bytes/ { b = $1 } END { print b }' "$WORK/dd.err")
    [[ $bytes == "$size" ]] || die "dd read $bytes bytes of $img, expected $size"
    calc %.3f "t1 - t0" t1="$t1" t0="$t0"
}

# time_tar SRC: prints the seconds of `tar cf - SRC | cat >/dev/null`.
time_tar() {
    local t0 t1
    t0=$(now)
    tar cf - -C "$1" . | cat >/dev/null
    t1=$(now)
    calc %.3f "t1 - t0" t1="$t1" t0="$t0"
}

# scan_layout: prints "SCAN LAYOUT" seconds from the mount's log line, or "? ?".
scan_layout() {
    local s
    s=$(sed -n 's/.*scan \([0-9.]*\) s, layout \([0-9.]*\) s.*/\1 \2/p' "$LOG" | tail -n 1)
    printf '%s\n' "${s:-? ?}"
}

# bench_empty: mounts an empty folder to measure the fixed cost of a mount
# (RSS, readiness) that the per-file numbers are net of.
bench_empty() {
    local src=$BENCH_CACHE/empty ready rss hwm_ready hwm_read sl
    mkdir -p "$src"
    find "$src" -mindepth 1 -maxdepth 1 | grep -q . && die "$src must be empty"
    LOG=$WORK/vdiskfs-empty.log
    say "empty-dir baseline: mounting $src"
    start_mount "$src"
    ready=$READY
    rss=$(proc_kib "$PID" VmRSS)
    hwm_ready=$(proc_kib "$PID" VmHWM)
    read_image >/dev/null
    hwm_read=$(proc_kib "$PID" VmHWM)
    stop_mount
    sl=$(scan_layout)
    BASE_HWM_READY=$hwm_ready
    BASE_HWM_READ=$hwm_read
    MOUNT_ROWS+=("| 0 (empty dir) | 1 | $ready | ${sl% *} | ${sl#* } | $(calc %.1f "k / 1024" k="$rss") | $(calc %.1f "k / 1024" k="$hwm_ready") | $(calc %.1f "k / 1024" k="$hwm_read") | – | – | – | – |")
    say "empty: ready ${ready} s, VmHWM ${hwm_ready} KiB when ready, ${hwm_read} KiB after reading the image"
}

# bench_count N: the full measurement for a tree of N files; adds a row to
# MOUNT_ROWS and READ_ROWS.
bench_count() {
    local n=$1 src info data disk entries ready rss hwm_ready hwm_read sl
    local dd1 dd2 tar1 tar2 per_ready per_ready_net per_read per_read_net
    src=$(ensure_tree "$n")
    warm_tree "$src" "$n"
    info=$WORK/info-$n.json
    "$VDISKFS" info "$src" --json -q >"$info" || die "vdiskfs info $src failed"
    data=$(jq -r .data_bytes "$info")
    disk=$(jq -r .disk_bytes "$info")
    entries=$(jq -r .entries "$info")

    LOG=$WORK/vdiskfs-$n.log
    say "$n files: mounting $src"
    start_mount "$src"
    ready=$READY
    rss=$(proc_kib "$PID" VmRSS)
    hwm_ready=$(proc_kib "$PID" VmHWM)
    say "$n files: readable after $ready s; reading the image twice"
    dd1=$(read_image)
    dd2=$(read_image)
    hwm_read=$(proc_kib "$PID" VmHWM)
    [[ $(stat -c %s "$MP/$NAME.img") == "$disk" ]] || die "image size differs from 'vdiskfs info' disk_bytes $disk"
    stop_mount
    sl=$(scan_layout)
    say "$n files: tar baseline twice"
    tar1=$(time_tar "$src")
    tar2=$(time_tar "$src")

    per_ready=$(calc %.0f "k * 1024 / n" k="$hwm_ready" n="$n")
    per_ready_net=$(calc %.0f "(k - b) * 1024 / n" k="$hwm_ready" b="$BASE_HWM_READY" n="$n")
    per_read=$(calc %.0f "k * 1024 / n" k="$hwm_read" n="$n")
    per_read_net=$(calc %.0f "(k - b) * 1024 / n" k="$hwm_read" b="$BASE_HWM_READ" n="$n")
    MOUNT_ROWS+=("| $n | $entries | $ready | ${sl% *} | ${sl#* } | $(calc %.1f "k / 1024" k="$rss") | $(calc %.1f "k / 1024" k="$hwm_ready") | $(calc %.1f "k / 1024" k="$hwm_read") | $per_ready | $per_ready_net | $per_read | $per_read_net |")

    local mib=1048576
    READ_ROWS+=("| $n | $(calc %.1f "d / m" d="$data" m=$mib) | $(calc %.1f "d / m" d="$disk" m=$mib) \
| $dd1 | $(calc %.0f "d / m / t" d="$disk" m=$mib t="$dd1") | $(calc %.0f "d / m / t" d="$data" m=$mib t="$dd1") \
| $dd2 | $(calc %.0f "d / m / t" d="$disk" m=$mib t="$dd2") | $(calc %.0f "d / m / t" d="$data" m=$mib t="$dd2") \
| $tar2 | $(calc %.0f "d / m / t" d="$data" m=$mib t="$tar2") \
| $(calc %.2f "a / b" a="$tar2" b="$dd1") | $(calc %.2f "a / b" a="$tar2" b="$dd2") |")
    say "$n files: dd ${dd1} s then ${dd2} s; tar ${tar1} s then ${tar2} s; VmHWM ${hwm_read} KiB = ${per_read} B/file (${per_read_net} net)"
}

# print_tables: the two result tables in markdown, and what their columns mean.
print_tables() {
    local row
    cat <<'EOF'
Mount and memory (ready = from starting `vdiskfs mount -f` until `<mp>/bench.img`
can be stat-ed and its first 4 KiB read; scan/layout = vdiskfs's own log line;
RSS/HWM = VmRSS/VmHWM of the vdiskfs process; B/file = VmHWM / files, "net" after
subtracting the empty-dir mount's VmHWM at the same point; "read" = after the
whole image was read twice):

| files | entries | ready s | scan s | layout s | RSS ready MiB | HWM ready MiB | HWM read MiB | B/file ready | B/file ready net | B/file read | B/file read net |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
    for row in "${MOUNT_ROWS[@]}"; do printf '%s\n' "$row"; done
    cat <<'EOF'

Sequential read (dd = `dd if=<mp>/bench.img of=/dev/null bs=1M`, run twice on the
same mount: dd#1 goes through vdiskfs, dd#2 mostly hits the kernel's page cache of
the image since vdiskfs sets keep_cache; image MiB/s counts every byte of the
image, data MiB/s only the tree's file data; tar = second of two warm runs of
`tar cf - -C SRC . | cat >/dev/null`; ratio = tar s / dd s, i.e. (data / dd s) /
(data / tar s); aim >= 0.9):

| files | data MiB | image MiB | dd#1 s | dd#1 image MiB/s | dd#1 data MiB/s | dd#2 s | dd#2 image MiB/s | dd#2 data MiB/s | tar s | tar data MiB/s | ratio dd#1 | ratio dd#2 |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
    for row in "${READ_ROWS[@]}"; do printf '%s\n' "$row"; done
}

# machine: one line describing the CPU, kernel, memory and load.
machine() {
    local model mem
    model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    printf '%s × %s, %s RAM, kernel %s, load average at start %s\n' \
        "$(nproc)" "${model:-unknown CPU}" "$mem" "$(uname -r)" "$LOAD_AT_START"
}

# build_info: the git commit of the source tree (with "-dirty") and the binary's mtime.
build_info() {
    local commit
    commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
    if ! git -C "$REPO" diff --quiet HEAD -- 2>/dev/null; then commit+="-dirty"; fi
    printf 'commit %s, binary %s built %s\n' "$commit" "$VDISKFS" "$(date -r "$VDISKFS" '+%Y-%m-%d %H:%M UTC')"
}

# record: appends a dated results block (machine, command, tables) to RESULTS.
# shellcheck disable=SC2016  # the backquotes are markdown, not shell
record() {
    if [[ ! -e $RESULTS ]]; then
        printf '# vdiskfs benchmark results\n\nAppended by the scripts in bench/ (see bench/README.md); newest last.\n' >"$RESULTS"
    fi
    {
        printf '\n## %s — mount_bench.sh\n\n' "$(date -d "@${START%.*}" '+%Y-%m-%d %H:%M UTC')"
        printf -- '- command: `%s` (in %s)\n' "$CMDLINE" "$START_DIR"
        printf -- '- machine: %s\n' "$(machine)"
        printf -- '- vdiskfs: %s\n' "$(build_info)"
        printf -- '- trees: `gen_tree.sh many N` in %s, warm page cache\n\n' "$BENCH_CACHE"
        print_tables
    } >>"$RESULTS"
    say "results appended to $RESULTS"
}

# Parses arguments, runs the empty-dir baseline and every count, prints and records.
main() {
    local record=1 counts=() n
    CMDLINE=$(printf '%q ' bash "$0" "$@")
    CMDLINE=$ENV_GIVEN${CMDLINE% }
    START_DIR=$PWD
    while (($#)); do
        case $1 in
        --no-record) record=0 ;;
        -h | --help) usage ;;
        -*) usage ;;
        *)
            [[ $1 =~ ^[1-9][0-9]*$ ]] || die "not a positive number of files: $1"
            counts+=("$1")
            ;;
        esac
        shift
    done
    ((${#counts[@]})) || counts=("${DEFAULT_COUNTS[@]}")
    if [[ $RESULTS == /dev/null ]]; then record=0; fi

    preflight
    START=$(now)
    LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
    WORK=$(mktemp -d /tmp/vdiskfs-bench.XXXXXX)
    MP=$(mktemp -d /tmp/vdiskfs-bench-mp.XXXXXX)
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    bench_empty
    for n in "${counts[@]}"; do bench_count "$n"; done

    echo
    print_tables
    if ((record)); then record; else say "not recorded (--no-record or RESULTS=/dev/null)"; fi
}

main "$@"
