# Shared helpers of the integration tests: tool checks that name the
# package to install, a work folder, and cleanup of every mount, loop
# device and daemon a test started (stopped by pid). Cleanup also fails
# the test when a vdiskfs daemon exited badly or a sanitizer report was
# written (see make_work), and prints the daemon logs when anything failed.
set -euo pipefail

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
    # anything else but the SIGKILL a test sends on purpose (137) is a
    # defect, even if the test body passed. Bash keeps the status of a
    # child it reaped, so a daemon that died unseen is found here too.
    local bad=0 status
    for p in "${DAEMON_PIDS[@]}"; do
        kill "$p" 2>/dev/null
        status=0
        wait "$p" 2>/dev/null || status=$?
        case $status in 0 | 127 | 137) ;; *)
            echo "FAIL: vdiskfs daemon $p exited with status $status" >&2
            bad=1
            ;;
        esac
    done
    for p in "${CLEANUP_PIDS[@]}"; do
        case " ${DAEMON_PIDS[*]} " in *" $p "*) continue ;; esac
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    if [ -n "$WORK" ]; then
        # Background daemons (not children of this shell) exit after their
        # unmount: let them finish writing their logs and reports.
        for ((i = 0; i < 100; i++)); do
            pgrep -f "vdiskfs mount .*$WORK/" >/dev/null || break
            sleep 0.1
        done
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
mount_fg() {
    local src=$1 mp=$2
    shift 2
    # Deltas stay in the work folder unless the test chooses where they go.
    case " $* " in
    *" --delta "* | *" --delta-memory "* | *" --read-only "*) ;;
    *) set -- "$@" --delta "$WORK/delta.$(basename "$src")" ;;
    esac
    local a prev=
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

# fmt_of FILE: QEMU's format name for an exposed file (a fixed VHD has no
# header to probe, so tests always name the format).
fmt_of() {
    case $1 in
    *.qcow2) echo qcow2 ;; *.vdi) echo vdi ;; *.vhd) echo vpc ;; *-flat.vmdk) echo raw ;; *.vmdk) echo vmdk ;; *) echo raw ;;
    esac
}
