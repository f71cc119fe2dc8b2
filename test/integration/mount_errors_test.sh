#!/bin/bash
# The command line as a new user meets it: --help, clear errors for a
# missing source, a file as source, a missing, non-empty, busy or dead
# mount point; background (daemon) mode; --name; writes refused (EROFS).
# Each refusal must exit with its documented status (README, "Exit
# status"): 1 for what vdiskfs refuses, 2 for a command-line usage error.
source "$(dirname "$0")/lib.sh"
require_root
require fusermount3 fuse3
require "$VDISKFS" "vdiskfs(build)"
make_work

# expect_fail PATTERN CMD...: CMD must be refused (exit 1) saying PATTERN.
expect_fail() {
    expect_status "$EXIT_REFUSED" "$@"
}

expect_status 0 "mount" "$VDISKFS" --help
expect_status 0 "--name" "$VDISKFS" mount --help
expect_status 0 "vdiskfs" "$VDISKFS" --version

mkdir -p "$WORK/src/sub" "$WORK/mnt" "$WORK/full"
echo hello >"$WORK/src/sub/file"
touch "$WORK/full/x" "$WORK/plainfile"

expect_fail "does not exist" "$VDISKFS" mount "$WORK/nope" "$WORK/mnt"
expect_fail "is empty: not a tar archive" "$VDISKFS" mount "$WORK/plainfile" "$WORK/mnt"
expect_fail "mount point $WORK/absent does not exist" "$VDISKFS" mount "$WORK/src" "$WORK/absent"
expect_fail "is not empty" "$VDISKFS" mount "$WORK/src" "$WORK/full"
expect_fail "not a directory" "$VDISKFS" mount "$WORK/src" "$WORK/plainfile"
expect_fail "is not a UUID" "$VDISKFS" mount --uuid nonsense "$WORK/src" "$WORK/mnt"
expect_fail "not a size" "$VDISKFS" mount --free lots "$WORK/src" "$WORK/mnt"
# Usage errors, found by the command-line parser: exit 2.
expect_status "$EXIT_USAGE" "The following argument was not expected: --no-such-option" \
    "$VDISKFS" mount --no-such-option "$WORK/src" "$WORK/mnt"
expect_status "$EXIT_USAGE" "MOUNTPOINT is required" "$VDISKFS" mount "$WORK/src"
expect_status "$EXIT_USAGE" "A subcommand is required" "$VDISKFS"
expect_status "$EXIT_USAGE" "Could not convert: --readahead = many" \
    "$VDISKFS" mount --readahead many "$WORK/src" "$WORK/mnt"
if mountpoint -q "$WORK/mnt" || [ -n "$(ls -A "$WORK/mnt")" ]; then die "a refused mount left something on $WORK/mnt"; fi

# Background mode: returns once the mount is ready.
"$VDISKFS" mount --name backup --read-only "$WORK/src" "$WORK/mnt" --log "$WORK/daemon.log"
CLEANUP_MOUNTS+=("$WORK/mnt")
mountpoint -q "$WORK/mnt" || die "daemon mode returned but nothing is mounted"
[ -f "$WORK/mnt/backup.img" ] || die "--name backup did not give backup.img: $(ls "$WORK/mnt")"
pid=$(pgrep -f "vdiskfs mount --name backup --read-only $WORK/src" | head -1)
[ -n "$pid" ] || die "cannot find the daemon's pid"
head -c 4096 "$WORK/mnt/backup.img" >/dev/null

expect_fail "already in use" "$VDISKFS" mount "$WORK/src" "$WORK/mnt"
( : >"$WORK/mnt/backup.img" ) 2>"$WORK/write.err" && die "writing to the image succeeded on a read-only mount"
grep -q "Read-only file system" "$WORK/write.err" || die "write error was: $(cat "$WORK/write.err")"
echo "ok: writes refused with EROFS"

fusermount3 -u "$WORK/mnt"
wait_gone "$pid" 10 || die "daemon $pid still running 10 s after unmount"
# Its exit status reaches no one: a daemon that ends badly says so in its
# log (and a sanitizer report of it lands in the work folder, see lib.sh).
[ -s "$WORK/daemon.log" ] || die "the background daemon wrote nothing to its --log file"
if grep -q "error" "$WORK/daemon.log"; then die "the background daemon logged errors: $(cat "$WORK/daemon.log")"; fi
echo "ok: daemon exited after fusermount3 -u, its log without errors"

# A daemon killed hard leaves a dead mount; the next mount names it.
mount_fg "$WORK/src" "$WORK/mnt"
kill -9 "$MOUNT_PID"
status=0
wait "$MOUNT_PID" 2>/dev/null || status=$?
forget_daemon "$MOUNT_PID"
[ $status -eq 137 ] || die "the daemon killed with SIGKILL exited with status $status, not 137"
expect_fail "daemon is gone" "$VDISKFS" mount "$WORK/src" "$WORK/mnt"
fusermount3 -u "$WORK/mnt"
echo "PASS mount_errors_test"
