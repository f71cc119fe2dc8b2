# Shared helpers of the integration tests: tool checks that name the
# package to install, a work folder, and cleanup of every mount, loop
# device and daemon a test started (stopped by pid). Cleanup also fails
# the test when a vdiskfs daemon exited badly or a sanitizer report was
# written (see make_work), and prints the daemon logs when anything failed.
set -euo pipefail
# Tests grep the English messages of dd, bash, e2fsck and others.
export LC_ALL=C

: "${VDISKFS:=vdiskfs}"
: "${TREETOOL:=treetool}"
: "${CRASHWRITER:=crashwriter}"
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# gen_tree.sh finds treetool on PATH.
case $TREETOOL in */*) PATH=$(dirname "$TREETOOL"):$PATH ;; esac

# Fails the test with a message.
die() {
    echo "FAIL: $*" >&2
    exit 1
}

# One seed for all random data of a test: $VDISKFS_TEST_SEED, or a fresh one,
# printed once and exported (gen_tree.sh and crash_test.sh draw from it too).
# /dev/urandom only for the fresh seed: a new one each run is the point.
VDISKFS_TEST_SEED=${VDISKFS_TEST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
[[ $VDISKFS_TEST_SEED =~ ^[0-9]+$ ]] || die "VDISKFS_TEST_SEED must be a number, not '$VDISKFS_TEST_SEED'"
export VDISKFS_TEST_SEED
echo "seed: $VDISKFS_TEST_SEED (rerun with VDISKFS_TEST_SEED=$VDISKFS_TEST_SEED)"
RANDOM_BYTES_CALLS=0

# random_bytes COUNT: COUNT bytes on stdout, the same for the same seed and
# the same call number (counted in this shell: call it as
# `random_bytes N >FILE`, not inside $(...) or a pipe, which would not
# advance the count).
random_bytes() {
    RANDOM_BYTES_CALLS=$((RANDOM_BYTES_CALLS + 1))
    python3 -c '
import random, sys
r, n, out = random.Random(sys.argv[1]), int(sys.argv[2]), sys.stdout.buffer
while n > 0:
    k = min(n, 1 << 20)
    out.write(r.randbytes(k))
    n -= k
' "$VDISKFS_TEST_SEED:$RANDOM_BYTES_CALLS" "$1"
}

# wait_gone PID SECONDS: waits until process PID is gone; fails (status 1)
# if it still runs after SECONDS.
wait_gone() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    ! kill -0 "$1" 2>/dev/null
}

# require TOOL PACKAGE: the test cannot run without TOOL.
require() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' is missing: install the Debian package '$2' (./setup.sh installs everything)"
}

require_root() {
    [ "$(id -u)" -eq 0 ] || die "this test needs root (loop devices, mount, mknod)"
}

CLEANUP_MOUNTS=()
CLEANUP_LOOPS=()
CLEANUP_PIDS=()
DAEMON_PIDS=()  # vdiskfs daemons of mount_fg: their exit status is checked
DAEMON_LOGS=()  # --log files of mount_fg's daemons
WORK=""

# show_logs: the tail of each daemon log: $WORK/vdiskfs.log (the stderr of
# mount_fg's daemons), the --log files given to mount_fg and any other
# *.log at the top of the work folder (where tests put --log files).
show_logs() {
    local f seen=" "
    for f in "$WORK"/*.log "${DAEMON_LOGS[@]}"; do
        [ -s "$f" ] || continue
        case $seen in *" $f "*) continue ;; esac
        seen+="$f "
        echo "---- last 50 lines of $f:" >&2
        tail -n 50 "$f" >&2
        echo "---- end of $f" >&2
    done
}

cleanup() {
    local rc=$?
    set +e
    local i
    unmount_all() {
        for ((i = ${#CLEANUP_MOUNTS[@]} - 1; i >= 0; i--)); do
            mountpoint -q "${CLEANUP_MOUNTS[i]}" || continue
            umount "${CLEANUP_MOUNTS[i]}" 2>/dev/null || fusermount3 -u "${CLEANUP_MOUNTS[i]}" 2>/dev/null
        done
    }
    # A loop device on a FUSE file keeps that mount busy: unmount what can
    # be, detach the loops, then unmount the rest (lazily as a last resort).
    unmount_all
    for l in "${CLEANUP_LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
    # Loops attached in a $(...) subshell never reach CLEANUP_LOOPS: find
    # them by their backing file inside the work folder.
    if [ -n "$WORK" ]; then
        losetup -nO NAME,BACK-FILE 2>/dev/null | while read -r dev file; do
            case $file in "$WORK"/*) losetup -d "$dev" 2>/dev/null ;; esac
        done
    fi
    unmount_all
    for m in "${CLEANUP_MOUNTS[@]}"; do
        mountpoint -q "$m" && { echo "cleanup: $m still busy, detached lazily" >&2; umount -l "$m"; }
    done
    # A daemon must end with 0 (unmounted, or SIGTERM, which it handles):
    # anything else is a defect, even if the test body passed. A test that
    # kills a daemon on purpose checks its 137 itself and calls
    # forget_daemon. Bash keeps the status of a child it reaped, so a daemon
    # that died unseen is found here too.
    local bad=0 status
    for p in "${DAEMON_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        status=0
        wait "$p" 2>/dev/null || status=$?
        if [ "$status" -ne 0 ]; then
            echo "FAIL: vdiskfs daemon $p exited with status $status" >&2
            bad=1
        fi
    done
    for p in "${CLEANUP_PIDS[@]}"; do
        case " ${DAEMON_PIDS[*]} " in *" $p "*) continue ;; esac
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    if [ -n "$WORK" ]; then
        # Background daemons (not children of this shell) exit after their
        # unmount: let them finish writing their logs and reports.
        for p in $(pgrep -f "vdiskfs mount .*$WORK/"); do wait_gone "$p" 10; done
        if [ $rc -ne 0 ] || [ $bad -ne 0 ]; then show_logs; fi
        # A sanitizer report from any process (make_work routes them here)
        # fails the test, whatever its exit status was.
        local report
        for report in "$WORK"/sanitizer.*; do
            [ -e "$report" ] || continue
            echo "---- sanitizer report $report:" >&2
            cat "$report" >&2
            echo "FAIL: sanitizer report $report (above)" >&2
            bad=1
        done
        if [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; else echo "work folder kept: $WORK" >&2; fi
    fi
    [ $rc -eq 0 ] && [ $bad -ne 0 ] && rc=1
    exit $rc
}
trap cleanup EXIT

# Creates $WORK, a fresh folder on a real disk (not tmpfs: loop devices and
# sparse files behave as in production).
# ASan, LSan and UBSan reports of every process (the forked background
# daemon's included: its stderr is /dev/null) go to $WORK/sanitizer.PID;
# cleanup prints them and fails the test. A refusal that leaks or trips
# UBSan on its way out therefore fails even with the expected status.
make_work() {
    WORK=$(mktemp -d "${VDISKFS_TEST_TMP:-/var/tmp}/vdiskfs-test.XXXXXX")
    local v
    for v in ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS; do
        export "$v=${!v:+${!v}:}log_path=$WORK/sanitizer"
    done
}

# mount_fg SOURCE MOUNTPOINT [OPTIONS...]: starts vdiskfs in the foreground
# in the background of this shell, waits for the mount, sets MOUNT_PID.
# Deltas go to the work folder unless OPTIONS say where (--delta,
# --delta-memory, --read-only) or hold --no-test-delta (not passed on:
# vdiskfs then uses its default state folder).
mount_fg() {
    local src=$1 mp=$2 a prev= args=()
    shift 2
    case " $* " in
    *" --no-test-delta "*)
        for a in "$@"; do [ "$a" = --no-test-delta ] || args+=("$a"); done
        set -- "${args[@]}"
        ;;
    *" --delta "* | *" --delta-memory "* | *" --read-only "*) ;;
    *) set -- "$@" --delta "$WORK/delta.$(basename "$src")" ;;
    esac
    for a in "$@"; do
        [ "$prev" = --log ] && DAEMON_LOGS+=("$a")
        prev=$a
    done
    "$VDISKFS" mount -f "$src" "$mp" "$@" 2>>"$WORK/vdiskfs.log" &
    MOUNT_PID=$!
    CLEANUP_PIDS+=("$MOUNT_PID")
    DAEMON_PIDS+=("$MOUNT_PID")
    CLEANUP_MOUNTS+=("$mp")
    local i status=0
    for ((i = 0; i < 600; i++)); do
        if mountpoint -q "$mp"; then return 0; fi
        if ! kill -0 "$MOUNT_PID" 2>/dev/null; then
            wait "$MOUNT_PID" || status=$?
            forget_daemon "$MOUNT_PID"
            die "vdiskfs exited with status $status before mounting $mp (its log follows)"
        fi
        sleep 0.1
    done
    die "vdiskfs did not mount $mp within 60 s"
}

# wait_serving WHAT PID LOGS PROBE...: waits up to 30 s until the command
# PROBE... succeeds (a server answers); dies with the tail of LOGS (a
# space-separated list of files) when PID exits first or time runs out.
wait_serving() {
    local what=$1 pid=$2 logs=$3 i
    shift 3
    for ((i = 0; i < 300; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        # shellcheck disable=SC2086
        kill -0 "$pid" 2>/dev/null || die "$what exited: $(tail -20 $logs 2>/dev/null)"
        sleep 0.1
    done
    # shellcheck disable=SC2086
    die "$what did not answer within 30 s: $(tail -20 $logs 2>/dev/null)"
}

# forget_daemon PID: its exit status was checked; cleanup need not.
forget_daemon() {
    local p keep=()
    for p in "${DAEMON_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    DAEMON_PIDS=("${keep[@]}")
}

# unmount_fg MOUNTPOINT: fusermount3 -u, then waits for MOUNT_PID to exit 0.
unmount_fg() {
    fusermount3 -u "$1" || die "fusermount3 -u $1 failed"
    local status=0
    wait "$MOUNT_PID" || status=$?
    forget_daemon "$MOUNT_PID"
    [ $status -eq 0 ] || die "vdiskfs (pid $MOUNT_PID) exited with status $status after unmounting $1 (its log follows)"
}

# Exit statuses of vdiskfs (README, "Exit status"): 0 done, 1 refused or
# failed (the message says why), 2 a usage error on the command line.
# Anything else (134 from an ASan abort, 23 from a leak report, a signal)
# is a defect even where a failure was expected.
EXIT_REFUSED=1
EXIT_USAGE=2

# expect_status STATUS PATTERN CMD...: CMD must exit with exactly STATUS and
# say PATTERN (a fixed string) on stdout or stderr; its output is in OUT.
expect_status() {
    local want=$1 pattern=$2 rc=0
    shift 2
    OUT=$("$@" 2>&1) || rc=$?
    [ "$rc" -eq "$want" ] || die "'$*' exited $rc, expected $want (saying '$pattern'); it said: $OUT"
    grep -qF -- "$pattern" <<<"$OUT" || die "'$*' said '$OUT'; expected '$pattern'"
    echo "ok: '$*' -> exit $rc: $(head -c 300 <<<"$OUT")"
}

# attach_partition IMAGE: loop device (read-only) over partition 1; prints it.
attach_partition() {
    local img=$1 start sectors dev
    read -r start sectors < <(partx -g -n 1 -o START,SECTORS "$img")
    dev=$(losetup -r -f --show -o $((start * 512)) --sizelimit $((sectors * 512)) "$img")
    CLEANUP_LOOPS+=("$dev")
    echo "$dev"
}

# detach DEVICE: detaches a loop device and forgets it, so that cleanup never
# detaches a number the kernel has since given to another user's loop.
detach() {
    losetup -d "$1"
    local i
    for i in "${!CLEANUP_LOOPS[@]}"; do
        [ "${CLEANUP_LOOPS[i]}" != "$1" ] || unset 'CLEANUP_LOOPS[i]'
    done
}

# expect_clean_fsck DEVICE: e2fsck -fn must find nothing at all.
expect_clean_fsck() {
    local out rc=0
    out=$(e2fsck -fn "$1" 2>&1) || rc=$?
    if [ $rc -ne 0 ] || grep -qiE 'fix|error|invalid|wrong|differ|\?' <<<"$out"; then
        echo "$out" >&2
        die "e2fsck -fn $1 reported problems (exit $rc)"
    fi
    echo "e2fsck: clean ($(tail -1 <<<"$out"))"
}

# formats_json: the table of container formats as `vdiskfs info --json`
# gives it (its "formats": each format's name, files with their suffix and
# QEMU format name, allocation unit and limit), read once from an empty
# source and kept in $WORK. Tests take format names and suffixes from it.
formats_json() {
    [ -n "$WORK" ] || die "formats_json needs make_work first"
    if [ ! -s "$WORK/formats.json" ]; then
        mkdir -p "$WORK/formats-empty"
        "$VDISKFS" info --quiet --json "$WORK/formats-empty" | jq .formats >"$WORK/formats.json.new" ||
            die "vdiskfs info --json of an empty folder failed"
        mv "$WORK/formats.json.new" "$WORK/formats.json"
    fi
    cat "$WORK/formats.json"
}

# exposed_files NAME [FORMAT...]: the files a mount named NAME exposes for
# the FORMATs (default: all), one per line in the table's order.
exposed_files() {
    local name=$1
    shift
    formats_json | jq -r --arg name "$name" \
        '.[] | select($ARGS.positional == [] or any(.name == $ARGS.positional[]; .)) | $name + .suffixes[]' --args "$@"
}

# file_format FILE: the row of formats_json that exposes FILE (the longest
# suffix ending FILE), with "file" set to FILE's entry; null if none.
file_format() {
    formats_json | jq -c --arg f "$1" \
        '[.[] | . as $row | .files[] | . as $file | select($f | endswith($file.suffix)) | $row + {file: $file}]
         | max_by(.file.suffix | length)'
}

# fmt_of FILE: QEMU's format name for an exposed file (a fixed VHD has no
# header to probe, so tests always name the format).
fmt_of() {
    file_format "$1" | jq -r '.file.qemu_format // "raw"'
}

# kernel_mount [--fsck] IMAGE [DIR [OPTIONS]]: the kernel's ext4 of IMAGE's
# partition 1, read-only over a loop device (KDEV), at DIR (default
# $WORK/kernel) with mount OPTIONS added to ro; --fsck runs
# expect_clean_fsck on it first. kernel_unmount undoes it.
kernel_mount() {
    local fsck=0
    [ "$1" = --fsck ] && { fsck=1; shift; }
    KDIR=${2:-$WORK/kernel}
    KDEV=$(attach_partition "$1")
    CLEANUP_LOOPS+=("$KDEV")  # attach_partition ran in a $(...) subshell
    [ $fsck = 0 ] || expect_clean_fsck "$KDEV"
    mount -t ext4 -o "ro${3:+,$3}" "$KDEV" "$KDIR" || die "cannot mount the ext4 of $1 ($KDEV) at $KDIR"
    CLEANUP_MOUNTS+=("$KDIR")
}
kernel_unmount() {
    umount "$KDIR"
    detach "$KDEV"
}

# sb_field FIELD [DEVICE]: a dumpe2fs -h field of the ext4 on DEVICE (default
# $KDEV), trailing blanks cut; fails when there is no such field.
sb_field() {
    local out value
    out=$(dumpe2fs -h "${2:-$KDEV}" 2>/dev/null) || die "dumpe2fs -h ${2:-$KDEV} failed"
    value=$(sed -n "s/^$1:[[:space:]]*//p" <<<"$out" | sed 's/[[:space:]]*$//')
    [ -n "$value" ] || die "dumpe2fs -h ${2:-$KDEV} has no field '$1'"
    echo "$value"
}

# image_sb_field IMAGE FIELD: sb_field of IMAGE's partition 1.
image_sb_field() {
    local dev value
    dev=$(attach_partition "$1")
    value=$(sb_field "$2" "$dev") || { detach "$dev"; exit 1; }
    detach "$dev"
    echo "$value"
}

# log_mark [LOG]: remembers how long LOG (default $WORK/vdiskfs.log, where
# mount_fg's daemons write) is; log_since [LOG] prints what was written since.
log_mark() { LOG_MARK=$(stat -c %s "${1:-$WORK/vdiskfs.log}"); }
log_since() { tail -c +$((LOG_MARK + 1)) "${1:-$WORK/vdiskfs.log}"; }

# broken_copy FILE OFFSET BYTES PATTERN CMD...: copies FILE to $WORK/copy
# with BYTES (printf %b escapes) written at OFFSET; CMD (which names
# $WORK/copy) must refuse it with exit 1 saying PATTERN.
broken_copy() {
    local file=$1 offset=$2 bytes=$3 pattern=$4
    shift 4
    cp --sparse=always "$file" "$WORK/copy"
    printf '%b' "$bytes" | dd of="$WORK/copy" bs=1 seek="$offset" conv=notrunc status=none
    expect_status "$EXIT_REFUSED" "$pattern" "$@"
    rm -f "$WORK/copy"
}
