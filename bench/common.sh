# Shared by the bench scripts: paths, settings from the environment, the
# --no-record flag, the machine line and appending to RESULTS.md.
# Sourced: sets BENCH_DIR, REPO, VDISKFS, BENCH_CACHE, RESULTS, record.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
: "${VDISKFS:=$REPO/build/vdiskfs}"
: "${BENCH_CACHE:=/var/tmp/vdiskfs-bench}"
mkdir -p "$BENCH_CACHE"
: "${RESULTS:=$BENCH_DIR/RESULTS.md}"
: "${MOUNT_OPTS:=}"  # extra `vdiskfs mount` options, e.g. --direct-io
record=1

# seconds CMD...: wall seconds of one run of CMD (its output dropped); a
# failing CMD ends the script.
seconds() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}

# Prints "N cores, CPU model, kernel K".
machine_line() {
    printf '%s cores, %s, kernel %s' "$(nproc)" "$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" "$(uname -r)"
}

# record_block TEXT: prints TEXT and appends it to RESULTS unless --no-record.
record_block() {
    echo "$1"
    if [ "$record" = 1 ]; then
        printf '\n%s\n' "$1" >>"$RESULTS"
        echo "appended to $RESULTS"
    fi
}

# One foreground vdiskfs mount at a time, stopped by pid. bench_mount MP SRC
# NAME [OPTIONS...] returns once MP/NAME.img exists (MOUNT_OPTS added);
# bench_unmount waits for the daemon to exit; the EXIT trap calls
# bench_cleanup, which also removes folders listed in BENCH_TEMP.
BENCH_MP="" BENCH_PID="" BENCH_TEMP=()
bench_mount() {
    local mp=$1 src=$2 name=$3 i
    shift 3
    # shellcheck disable=SC2086
    "$VDISKFS" mount -f -q "$src" "$mp" --name "$name" $MOUNT_OPTS "$@" >/dev/null &
    BENCH_PID=$! BENCH_MP=$mp
    for ((i = 0; i < 12000; i++)); do
        [ -e "$mp/$name.img" ] && return 0
        kill -0 "$BENCH_PID" 2>/dev/null || { echo "vdiskfs failed to mount $src" >&2; exit 1; }
        sleep 0.01
    done
    echo "mount of $src did not come up within 120 s" >&2
    exit 1
}
bench_unmount() {
    fusermount3 -u "$BENCH_MP"
    wait "$BENCH_PID"
    BENCH_PID=""
}
bench_cleanup() {
    [ -n "$BENCH_MP" ] && { fusermount3 -u "$BENCH_MP" 2>/dev/null || true; }
    [ -n "$BENCH_PID" ] && { wait "$BENCH_PID" 2>/dev/null || true; }
    [ ${#BENCH_TEMP[@]} -gt 0 ] && rm -rf "${BENCH_TEMP[@]}"
    return 0
}
trap bench_cleanup EXIT
