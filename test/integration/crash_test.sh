#!/bin/bash
# Crash safety of deltas: ROUNDS times, a writer (crashwriter) writes and
# fdatasyncs through <name>.img while the daemon is killed with SIGKILL at
# a random moment; after the remount every synced write must be there and
# the delta must open (a torn tail is cut). The journal spans all rounds.
#   crash_test.sh [ROUNDS]   (CI: 20; bench/ has a longer soak)
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-20}
require_root
for t in "fusermount3 fuse3" "$CRASHWRITER crashwriter(build)" "$VDISKFS vdiskfs(build)"; do require $t; done
make_work
mkdir -p "$WORK/src/dir" "$WORK/mnt"
head -c 2000000 /dev/urandom >"$WORK/src/dir/file"
D=$WORK/delta
J=$WORK/journal
REGION_START=$((64 * 1024 * 1024))
REGION_BYTES=$((32 * 1024 * 1024))

mount_fg "$WORK/src" "$WORK/mnt" --delta "$D" --formats img
for ((round = 1; round <= ROUNDS; round++)); do
    begun_before=$(grep -c '^I ' "$J" 2>/dev/null || true)
    "$CRASHWRITER" write "$WORK/mnt/src.img" "$J" $REGION_START $REGION_BYTES $round 2>"$WORK/writer.err" &
    writer=$!
    sleep "0.$((RANDOM % 5 + 1))"
    kill -9 "$MOUNT_PID"
    wait "$MOUNT_PID" 2>/dev/null || true
    rc=0
    wait "$writer" || rc=$?
    # 1 = the daemon went away under it (expected); anything else is a setup failure.
    [ $rc -eq 1 ] || die "round $round: crashwriter exited $rc: $(cat "$WORK/writer.err")"
    # The writer ran (a write began); a round may sync nothing when the kill
    # lands while the daemon compacts the log, which blocks the first write.
    begun=$(grep -c '^I ' "$J" || true)
    ((begun > begun_before)) || die "round $round: the writer never began a write"
    fusermount3 -u "$WORK/mnt" 2>/dev/null || umount -l "$WORK/mnt"
    mount_fg "$WORK/src" "$WORK/mnt" --delta "$D" --formats img
    out=$("$CRASHWRITER" verify "$WORK/mnt/src.img" "$J") || die "round $round: $out"
    echo "round $round: $out"
done
synced=$(grep -c '^S ' "$J" || true)
((synced >= ROUNDS)) || die "only $synced synced writes in $ROUNDS rounds: too few to check anything"
torn=$(grep -c "torn tail" "$WORK/vdiskfs.log" || true)  # grep -c exits 1 on zero
echo "synced writes checked: $synced; torn tails repaired: $torn"
unmount_fg "$WORK/mnt"
echo "PASS crash_test ($ROUNDS rounds)"
