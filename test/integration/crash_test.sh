#!/bin/bash
# Crash safety of deltas: ROUNDS times, a writer (crashwriter) writes and
# fdatasyncs through <name>.img while the daemon is killed with SIGKILL at
# a random moment; after the remount every synced write must be there and
# the delta must open (a torn tail is cut). The journal spans all rounds.
#   crash_test.sh [ROUNDS]   (CI: 20; bench/ has a longer soak)
#   VDISKFS_TEST_SEED=N      replays the random choices of an earlier run
#                            (source contents, write places, kill delays,
#                            torn records); the timing of a kill cannot be.
#
# Torn tails. The daemon appends a write's records (32-byte header + 4 KiB
# page each) with one pwrite. SIGKILL can cut that pwrite short: the
# kernel's buffered write stops between pages (folios) once a fatal signal
# is pending, and returns what it copied; a 256 MiB pwrite killed after
# 10-50 ms left 14-108 MiB on ext4 (Linux 6.18). But the daemon's pwrites
# are at most 17 records (~70 KB) and take microseconds of a cycle that
# mostly waits for fdatasync: 50 rounds of the kill alone met no torn
# tail, 100 rounds of this test met one (2080 bytes). So a torn tail from
# the kill alone is possible but too rare to test by; each round
# therefore also appends one, by `crashwriter tear`, after the kill
# and before the remount, rotating through the kinds a replay must cut: a
# short header, a valid header with a short payload, a whole record with a
# flipped payload byte, a size record with a flipped byte, and zeros. The
# remount must cut exactly the bytes past the last whole record (the kill's
# own torn tail, if any, plus the appended one) with its log line, leave
# the log at that length, and every synced write must read back (the torn
# page record claims a page of the newest synced write, with contents no
# write has, so a record wrongly kept fails `verify`). Torn tails the kill
# left by itself are counted and printed.
source "$(dirname "$0")/lib.sh"
ROUNDS=${1:-20}
require_root
for t in "fusermount3 fuse3" "$CRASHWRITER crashwriter(build)" "$VDISKFS vdiskfs(build)"; do require $t; done
SEED=$VDISKFS_TEST_SEED  # lib.sh's, printed there
RANDOM=$SEED
make_work
mkdir -p "$WORK/src/dir" "$WORK/mnt"
"$CRASHWRITER" fill "$WORK/src/dir/file" 2000000 "$SEED"
D=$WORK/delta
J=$WORK/journal
LOG=$WORK/vdiskfs.log
REGION_START=$((64 * 1024 * 1024))
REGION_BYTES=$((32 * 1024 * 1024))
KINDS=(short-header short-payload flipped-payload flipped-size zeros)

# journal_count I|S: begun or synced writes in the journal so far.
journal_count() {
    [ -f "$J" ] || { echo 0; return; }
    grep -c "^$1 " "$J" || true # grep -c exits 1 on zero
}

mount_fg "$WORK/src" "$WORK/mnt" --delta "$D" --formats img
natural_tails=0
for ((round = 1; round <= ROUNDS; round++)); do
    begun_before=$(journal_count I)
    "$CRASHWRITER" write "$WORK/mnt/src.img" "$J" $REGION_START $REGION_BYTES $round "$SEED" 2>"$WORK/writer.err" &
    writer=$!
    # The random delay counts from the writer's first journaled write, not
    # from its start (which may take longer than the delay).
    for ((i = 0; ; i++)); do
        (($(journal_count I) > begun_before)) && break
        kill -0 "$writer" 2>/dev/null || die "round $round: the writer exited before its first write: $(cat "$WORK/writer.err")"
        ((i < 1000)) || die "round $round: the writer began no write within 10 s"
        sleep 0.01
    done
    printf -v delay '0.%03d' $((RANDOM % 500 + 1)) # not in $(...): a subshell reseeds RANDOM
    sleep "$delay"
    kill -9 "$MOUNT_PID"
    status=0
    wait "$MOUNT_PID" 2>/dev/null || status=$?
    forget_daemon "$MOUNT_PID"
    [ $status -eq 137 ] || die "round $round: the daemon exited with status $status before the SIGKILL"
    rc=0
    wait "$writer" || rc=$?
    # 1 = the daemon went away under it (expected); anything else is a setup failure.
    [ $rc -eq 1 ] || die "round $round: crashwriter exited $rc: $(cat "$WORK/writer.err")"
    fusermount3 -u "$WORK/mnt" 2>/dev/null || umount -l "$WORK/mnt"

    kind=${KINDS[(round - 1) % ${#KINDS[@]}]}
    rc=0
    tear=$("$CRASHWRITER" tear "$D/src.img.delta" "$J" "$kind" $((SEED + round))) || rc=$?
    [ $rc -eq 0 ] || die "round $round: crashwriter tear $kind exited $rc: $tear"
    read -r end natural appended _ page <<<"$tear"
    [[ $end =~ ^[0-9]+$ && $natural =~ ^[0-9]+$ && $appended =~ ^[0-9]+$ ]] ||
        die "round $round: crashwriter tear printed '$tear', not END NATURAL APPENDED ..."
    ((natural == 0)) || natural_tails=$((natural_tails + 1))
    cut=$((natural + appended))
    log_mark
    mount_fg "$WORK/src" "$WORK/mnt" --delta "$D" --formats img
    new_lines=$(log_since)
    torn_lines=$(grep -c 'torn tail' <<<"$new_lines" || true)
    want="delta $D/src.img.delta: cut a torn tail of $cut bytes left by an interrupted write"
    [ "$torn_lines" -eq 1 ] && grep -qF -- "$want" <<<"$new_lines" ||
        die "round $round: after a torn $kind record ($appended bytes; $natural bytes of torn tail before it) the mount should log '$want'; it logged: $new_lines"
    size=$(stat -c %s "$D/src.img.delta")
    [ "$size" -eq "$end" ] || die "round $round: the delta is $size bytes after the cut, not $end"
    out=$("$CRASHWRITER" verify "$WORK/mnt/src.img" "$J") || die "round $round: $out"
    what="$kind record of $appended bytes"
    case $kind in short-header | short-payload | flipped-payload) what+=" for page $page" ;; esac
    echo "round $round: killed ${delay} s after the first write; cut a $what (+ $natural bytes torn by the kill); $out"
done
synced=$(journal_count S)
((synced >= ROUNDS)) || die "only $synced synced writes in $ROUNDS rounds: too few to check anything"
torn=$(grep -c "torn tail" "$LOG" || true) # grep -c exits 1 on zero
((torn == ROUNDS)) || die "$torn torn tails cut in $ROUNDS rounds, expected one a round"
echo "synced writes checked: $synced; torn tails cut: $torn (one a round, appended; $natural_tails of them also had a torn tail the kill left by itself)"
unmount_fg "$WORK/mnt"
echo "PASS crash_test ($ROUNDS rounds, seed $SEED)"
