# Shared by the bench scripts: paths, settings from the environment, the
# --no-record flag, the machine line and appending to RESULTS.md.
# Sourced: sets BENCH_DIR, REPO, VDISKFS, BENCH_CACHE, RESULTS, record.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
: "${VDISKFS:=$REPO/build/vdiskfs}"
: "${BENCH_CACHE:=/var/tmp/vdiskfs-bench}"
: "${RESULTS:=$BENCH_DIR/RESULTS.md}"
: "${MOUNT_OPTS:=}"  # extra `vdiskfs mount` options, e.g. --direct-io
record=1

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
