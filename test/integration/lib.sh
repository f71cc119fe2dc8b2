# Shared helpers of the integration tests: tool checks that name the
# package to install, a work folder, and cleanup of every mount, loop
# device and daemon a test started (stopped by pid).
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
WORK=""

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
    for p in "${CLEANUP_PIDS[@]}"; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    if [ -n "$WORK" ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; fi
    exit $rc
}
trap cleanup EXIT

# Creates $WORK, a fresh folder on a real disk (not tmpfs: loop devices and
# sparse files behave as in production).
make_work() {
    WORK=$(mktemp -d "${VDISKFS_TEST_TMP:-/var/tmp}/vdiskfs-test.XXXXXX")
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
    "$VDISKFS" mount -f "$src" "$mp" "$@" 2>>"$WORK/vdiskfs.log" &
    MOUNT_PID=$!
    CLEANUP_PIDS+=("$MOUNT_PID")
    CLEANUP_MOUNTS+=("$mp")
    local i
    for ((i = 0; i < 600; i++)); do
        if mountpoint -q "$mp"; then return 0; fi
        kill -0 "$MOUNT_PID" 2>/dev/null || die "vdiskfs exited before mounting: $(cat "$WORK/vdiskfs.log")"
        sleep 0.1
    done
    die "vdiskfs did not mount $mp within 60 s"
}

# unmount_fg MOUNTPOINT: fusermount3 -u, then waits for MOUNT_PID to exit 0.
unmount_fg() {
    fusermount3 -u "$1" || die "fusermount3 -u $1 failed"
    wait "$MOUNT_PID" || die "vdiskfs exited with status $? after unmount"
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

detach() {
    losetup -d "$1"
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
