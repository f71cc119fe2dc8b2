#!/bin/bash
# vdiskfs serve with the real binary: ten disks from directories and tars
# (plain and gzip) with their own layout options, each .img equal (cmp) to
# `vdiskfs export` of its source with the same options; a missing source
# and a damaged tar each give a folder holding only ERROR with the message
# while the others serve; two disks added and two removed while qemu-img
# compare reads another disk's .vmdk against its own `vdiskfs mount` in a
# loop (every change is taken within 2 s, every compare passes); remove of a
# disk with a file held open refused naming the disk, the mount and the
# pid, then done once it is closed; catalog show's "served by"; a stale
# served row (a dead pid) blocks nothing; a disk rebuilt with other
# content of the same shape reads the new bytes (no stale kernel pages,
# though its old image is held open); a disk
# rebuilt while its old folder is held waits for it, with both folders'
# opens counted; rows with bad names forged with sqlite3; READY=1 on
# NOTIFY_SOCKET once the mount answers; SIGTERM with a file open unmounts
# and the daemon exits 0.
source "$(dirname "$0")/lib.sh"
require_root
for t in "fusermount3 fuse3" "mountpoint util-linux" "qemu-img qemu-utils" "sqlite3 sqlite3" "python3 python3" \
         "tar tar" "gzip gzip" "$VDISKFS vdiskfs(build)"; do require $t; done
make_work
: >"$WORK/vdiskfs.log"
C=$WORK/catalog.db
MNT=$WORK/mnt
mkdir "$MNT" "$WORK/src" "$WORK/exp" "$WORK/m0"

# now_ms: milliseconds since 1970.
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# within SECONDS WHAT CMD...: CMD succeeds within SECONDS (tried every
# 0.1 s), else the test fails naming WHAT.
within() {
    local limit=$1 what=$2 t0
    shift 2
    t0=$(now_ms)
    until "$@"; do
        [ $(($(now_ms) - t0)) -le $((limit * 1000)) ] || die "$what: not within $limit s"
        sleep 0.1
    done
    echo "ok: $what after $(($(now_ms) - t0)) ms"
}
# cat_ok ARGS...: `vdiskfs catalog --catalog $C ARGS` succeeds quietly.
cat_ok() { "$VDISKFS" catalog --catalog "$C" "$@" >/dev/null 2>"$WORK/err" || die "catalog $*: $(cat "$WORK/err")"; }
served() { [ -f "$MNT/$1/$1.img" ]; }
# has_row NAME: the serve daemon has a served row for disk NAME.
has_row() { [ "$(sqlite3 -cmd ".timeout 2000" "$C" "SELECT count(*) FROM served WHERE name = '$1' AND pid = $SERVE_PID")" = 1 ]; }
# shows_open NAME N: catalog show NAME counts N open files of this mount.
shows_open() {
    local files="$2 open files"
    [ "$2" = 1 ] && files="1 open file"
    grep -qxF "served by  $MNT (pid $SERVE_PID, $files)" <("$VDISKFS" catalog --catalog "$C" show "$1")
}
gone() { [ ! -e "$MNT/$1" ] && ! ls "$MNT" | grep -qxF -- "$1"; }

# Ten sources: d0..d9, directories (even) and tars (odd; d5 gzip), each
# with options of its own. --min-free keeps the disks small. d0 holds 8 MiB
# of data so that each compare below reads for a while.
OPTS=("--layout single" "--table mbr" "--label disk2" "--free 1M" "--uuid 0b0c0d0e-1111-2222-3333-444455556666"
      "" "--no-xattrs" "--table mbr --label nine" "--free 2M" "--layout single --swap 64M")
for i in $(seq 0 9); do
    d=$WORK/src/d$i
    mkdir -p "$d/sub$i"
    echo "disk $i" >"$d/hello.txt"
    random_bytes $((i == 0 ? 8 << 20 : 20000 + i * 3000)) >"$d/sub$i/data"
    ln -s hello.txt "$d/link"
    case $i in
    5) tar -C "$d" -czf "$WORK/src/d$i.tar.gz" . && SRC[i]=$WORK/src/d$i.tar.gz ;;
    1 | 3 | 7 | 9) tar -C "$d" -cf "$WORK/src/d$i.tar" . && SRC[i]=$WORK/src/d$i.tar ;;
    *) SRC[i]=$d ;;
    esac
    # shellcheck disable=SC2086
    cat_ok add "d$i" "${SRC[i]}" --min-free 4M --delta "$WORK/delta/d$i" ${OPTS[i]}
done
# A file's first read (and a folder's first listing) after a change moves
# its atime (relatime), which the ext4 inode carries: with atimes an hour
# ahead, neither serve's scan nor export's reads move them, so both see the
# same tree.
find "$WORK/src" -exec touch -h -a -d "@$(($(date +%s) + 3600))" {} +
# Two that cannot be built: a folder gone after add, a file that is no tar.
mkdir "$WORK/src/missing"
cat_ok add missing "$WORK/src/missing" --delta "$WORK/delta/missing"
rmdir "$WORK/src/missing"
head -c 5000 /dev/zero | tr '\0' 'x' >"$WORK/src/bad.tar"
cat_ok add bad "$WORK/src/bad.tar" --delta "$WORK/delta/bad"

# The systemd side: a datagram socket that notes each message, and whether
# the mount answered (os.path.ismount) when READY=1 came.
NOTIFY=$WORK/notify.sock
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".bound", "w").close()
while True:
    msg = s.recv(4096).decode()
    with open(sys.argv[2], "a") as out:
        for line in msg.splitlines():
            out.write(line + (" mounted=%s" % os.path.ismount(sys.argv[3]) if line == "READY=1" else "") + "\n")
' "$NOTIFY" "$WORK/notify.txt" "$MNT" &
CLEANUP_PIDS+=($!)
within 5 "the notify socket is bound" test -e "$NOTIFY.bound"

NOTIFY_SOCKET=$NOTIFY "$VDISKFS" serve -f "$MNT" --catalog "$C" 2>>"$WORK/vdiskfs.log" &
SERVE_PID=$!
CLEANUP_PIDS+=("$SERVE_PID")
DAEMON_PIDS+=("$SERVE_PID")
CLEANUP_MOUNTS+=("$MNT")
within 10 "READY=1 on NOTIFY_SOCKET" grep -qs "^READY=1" "$WORK/notify.txt"
grep -qx "READY=1 mounted=True" "$WORK/notify.txt" || die "READY=1 came before the mount answered: $(cat "$WORK/notify.txt")"
mountpoint -q "$MNT" || die "$MNT is not mounted after READY=1"

for i in $(seq 0 9); do within 20 "d$i served" served "d$i"; done
for name in missing bad; do within 20 "$name has its ERROR folder" test -f "$MNT/$name/ERROR"; done
[ "$(ls "$MNT" | sort | tr '\n' ' ')" = "bad d0 d1 d2 d3 d4 d5 d6 d7 d8 d9 missing " ] ||
    die "folders of $MNT: $(ls "$MNT" | tr '\n' ' ')"
[ "$(ls "$MNT/bad")" = ERROR ] || die "$MNT/bad holds more than ERROR: $(ls "$MNT/bad")"
[ "$(ls "$MNT/missing")" = ERROR ] || die "$MNT/missing holds more than ERROR: $(ls "$MNT/missing")"
grep -qF "$WORK/src/bad.tar is not a tar archive" "$MNT/bad/ERROR" || die "bad/ERROR: $(cat "$MNT/bad/ERROR")"
grep -qF "$WORK/src/missing" "$MNT/missing/ERROR" || die "missing/ERROR does not name the source: $(cat "$MNT/missing/ERROR")"
[ "$(tail -c 1 "$MNT/bad/ERROR" | od -An -c | tr -d ' ')" = '\n' ] || die "bad/ERROR does not end with a newline"
[ "$(wc -l <"$MNT/bad/ERROR")" = 1 ] || die "bad/ERROR is not one line: $(cat "$MNT/bad/ERROR")"
echo "ok: ERROR files: $(cat "$MNT/bad/ERROR") / $(cat "$MNT/missing/ERROR")"

# Each disk: the files of a mount, and the .img byte for byte as export
# makes it from the same source and options.
for i in $(seq 0 9); do
    [ "$(ls "$MNT/d$i" | sort | tr '\n' ' ')" = "$(exposed_files "d$i" | sort | tr '\n' ' ')" ] ||
        die "files of d$i: $(ls "$MNT/d$i" | tr '\n' ' '), not $(exposed_files "d$i" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    "$VDISKFS" export -q "${SRC[i]}" "$WORK/exp/d$i.img" --min-free 4M ${OPTS[i]} >/dev/null 2>"$WORK/err" ||
        die "export of d$i: $(cat "$WORK/err")"
    cmp "$MNT/d$i/d$i.img" "$WORK/exp/d$i.img" || die "d$i.img of serve differs from export of ${SRC[i]}"
done
echo "ok: ten disks equal to their exports"

# d0 against its own mount, in a loop, while the catalog changes.
mount_fg "${SRC[0]}" "$WORK/m0" --name d0 --read-only --min-free 4M ${OPTS[0]}
(
    n=0
    while [ ! -e "$WORK/stop-compare" ]; do
        qemu-img compare -f vmdk -F vmdk "$MNT/d0/d0.vmdk" "$WORK/m0/d0.vmdk" >"$WORK/compare.out" 2>&1 || exit 1
        n=$((n + 1))
        echo $n >"$WORK/compare.count"
    done
) &
COMPARE_PID=$!
CLEANUP_PIDS+=("$COMPARE_PID")
within 10 "a first compare of d0" test -s "$WORK/compare.count"
mkdir -p "$WORK/src/n1" "$WORK/src/n2"
echo new1 >"$WORK/src/n1/a"
echo new2 >"$WORK/src/n2/b"
tar -C "$WORK/src/n2" -cf "$WORK/src/n2.tar" .
t0=$(now_ms)
cat_ok add n1 "$WORK/src/n1" --min-free 4M --delta "$WORK/delta/n1"
cat_ok add n2 "$WORK/src/n2.tar" --min-free 4M --delta "$WORK/delta/n2"
cat_ok remove d3
cat_ok remove d4
# Taken within 2 s (its served row, written before the scan); the image
# follows once the scan ends (ASan builds scan slowly).
within 2 "n1 is taken" has_row n1
within 2 "n2 is taken" has_row n2
within 20 "n1 appears" served n1
within 20 "n2 appears" served n2
within 2 "d3 disappears" gone d3
within 2 "d4 disappears" gone d4
echo "ok: two added and two removed, all shown $(($(now_ms) - t0)) ms after the first change"
before=$(cat "$WORK/compare.count")
# compared_again: a compare that began after the changes ended (or the
# loop stopped on a failure, which wait reports below).
compared_again() { [ "$(cat "$WORK/compare.count")" -gt $((before + 1)) ] || ! kill -0 "$COMPARE_PID" 2>/dev/null; }
within 10 "another compare of d0 after the changes" compared_again
touch "$WORK/stop-compare"
wait "$COMPARE_PID" || die "qemu-img compare of d0 failed while disks came and went: $(cat "$WORK/compare.out")"
echo "ok: $(cat "$WORK/compare.count") compares of d0 passed while the catalog changed"
"$VDISKFS" export -q "$WORK/src/n2.tar" "$WORK/exp/n2.img" --min-free 4M >/dev/null 2>"$WORK/err" ||
    die "export of n2: $(cat "$WORK/err")"
cmp "$MNT/n2/n2.img" "$WORK/exp/n2.img" || die "n2.img of serve differs from its export"

# served by: this mount and pid.
"$VDISKFS" catalog --catalog "$C" show d2 >"$WORK/out" || die "show d2"
grep -qxF "served by  $MNT (pid $SERVE_PID, 0 open files)" "$WORK/out" || die "show d2: $(cat "$WORK/out")"

# A disk with a file held open cannot be removed; closed, it can.
exec 3<"$MNT/d2/d2.img"
within 2 "show d2 counts the open file" \
    grep -qxF "served by  $MNT (pid $SERVE_PID, 1 open file)" <("$VDISKFS" catalog --catalog "$C" show d2)
expect_status "$EXIT_REFUSED" "disk d2 of catalog $C is open: 1 open file in $MNT/d2 of the vdiskfs serve mount on $MNT (pid $SERVE_PID)" \
    "$VDISKFS" catalog --catalog "$C" remove d2
served d2 || die "d2 went away although its removal was refused"
head -c 4096 <&3 >/dev/null || die "reading the open d2.img failed"
exec 3<&-
within 2 "remove of d2 once closed" "$VDISKFS" catalog --catalog "$C" remove d2
within 2 "d2 disappears" gone d2

# A stale row (a pid that is gone) blocks nothing and shows as not served.
true &
DEAD=$!
wait "$DEAD"
sqlite3 "$C" "INSERT OR REPLACE INTO served (name, mount_point, pid, open_files, updated)
              VALUES ('d6', '/elsewhere', $DEAD, 3, 0)" || die "cannot forge a stale row"
"$VDISKFS" catalog --catalog "$C" show d6 >"$WORK/out" || die "show d6"
grep -qxF "served by  $MNT (pid $SERVE_PID, 0 open files)" "$WORK/out" || die "show d6 with a stale row: $(cat "$WORK/out")"
cat_ok remove d6
within 2 "d6 disappears" gone d6

# A disk rebuilt with other content of the same shape (same size, same
# times: ustar archives with fixed mtimes) while its old image is held open
# (which keeps the kernel's inode, and so its pages, alive): a new open
# reads the new bytes, not pages the kernel kept of the old image.
for r in r1 r2; do
    mkdir -p "$WORK/src/$r"
    head -c 300000 /dev/zero | tr '\0' "${r:1}" >"$WORK/src/$r/f"
    tar --format=ustar --mtime=@1700000000 --owner=0 --group=0 -C "$WORK/src/$r" -cf "$WORK/src/$r.tar" .
    touch -d @1700000000 "$WORK/src/$r.tar"
    "$VDISKFS" export -q "$WORK/src/$r.tar" "$WORK/exp/$r.img" --min-free 4M --uuid 0b0c0d0e-1111-2222-3333-444455556666 \
        >/dev/null 2>"$WORK/err" || die "export of $r: $(cat "$WORK/err")"
done
[ "$(stat -c %s "$WORK/exp/r1.img")" = "$(stat -c %s "$WORK/exp/r2.img")" ] || die "r1.img and r2.img differ in size"
! cmp -s "$WORK/exp/r1.img" "$WORK/exp/r2.img" || die "r1.img and r2.img are equal"
cat_ok add r "$WORK/src/r1.tar" --min-free 4M --uuid 0b0c0d0e-1111-2222-3333-444455556666 --delta "$WORK/delta/r1"
within 20 "r served (r1)" served r
exec 7<"$MNT/r/r.img"
cmp "$MNT/r/r.img" "$WORK/exp/r1.img" || die "r.img differs from r1's export"
# r_builds: how many times the log says r was built.
r_builds() { grep -c -- "-> $MNT/r/r\.\*" "$WORK/vdiskfs.log" || true; }
built_before=$(r_builds)
sqlite3 -cmd ".timeout 2000" "$C" "UPDATE disks SET source = '$WORK/src/r2.tar', delta_dir = '$WORK/delta/r2',
    created = created + 1 WHERE name = 'r'" || die "cannot change r's row"
r_rebuilt() { [ "$(r_builds)" -gt "$built_before" ]; }
within 20 "r built again (r2)" r_rebuilt
sleep 1  # the build's log line comes just before its folder is put
cmp "$MNT/r/r.img" "$WORK/exp/r2.img" || die "r.img after its rebuild shows stale bytes, not r2's"
exec 7<&-
echo "ok: r rebuilt with other content of the same shape reads the new bytes"

# A disk whose row changes while a file of its old folder is held: the
# rebuild cannot take the delta the old folder locks, shows why in ERROR,
# and is built again as soon as the old folder is released. Opens of both
# folders count in the disk's one row.
cat_ok add w "$WORK/src/n1" --min-free 4M --delta "$WORK/delta/w"
within 20 "w served" served w
echo written | dd of="$MNT/w/w.img" bs=1 seek=1048576 conv=notrunc status=none || die "a write to w.img failed"
exec 4<"$MNT/w/w.img"
within 2 "show w counts the open file" shows_open w 1
sqlite3 -cmd ".timeout 2000" "$C" "UPDATE disks SET created = created + 1 WHERE name = 'w'" || die "cannot change w's row"
within 20 "w's rebuild waits for its old folder" grep -qs "still open" "$MNT/w/ERROR"
grep -q "in use" "$MNT/w/ERROR" || die "w/ERROR does not say the delta is in use: $(cat "$MNT/w/ERROR")"
exec 5<"$MNT/w/ERROR"
within 2 "show w counts the opens of both folders" shows_open w 2
exec 5<&-
within 2 "show w counts the old folder's open" shows_open w 1
exec 4<&-
within 5 "w built again once its old folder is released" served w
[ "$(dd if="$MNT/w/w.img" bs=1 skip=1048576 count=7 status=none)" = written ] || die "w.img lost what was written"
within 2 "show w counts no open file" shows_open w 0
echo "ok: w rebuilt once its old folder was released"

# Rows written by other means with names the catalog refuses: one that
# can be a folder gets an ERROR folder saying why; one that cannot (a '/')
# is logged and left out; the daemon serves on.
sqlite3 -cmd ".timeout 2000" "$C" "INSERT INTO disks (name, source, layout, delta_dir, created)
    VALUES ('-dash', '$WORK/src/n1', '{}', '$WORK/delta/dash', 1), ('x/y', '$WORK/src/n1', '{}', '$WORK/delta/xy', 1)" ||
    die "cannot forge rows with bad names"
within 5 "-dash has its ERROR folder" test -f "$MNT/-dash/ERROR"
grep -qF "'-dash' cannot name a disk: it starts with '-'" "$MNT/-dash/ERROR" || die "-dash/ERROR: $(cat "$MNT/-dash/ERROR")"
within 5 "x/y is logged" grep -qF "lists a disk named 'x/y', which cannot be a folder" "$WORK/vdiskfs.log"
kill -0 "$SERVE_PID" || die "vdiskfs serve died on rows with bad names"
sqlite3 -cmd ".timeout 2000" "$C" "DELETE FROM disks WHERE name IN ('-dash', 'x/y')" || die "cannot delete the forged rows"
within 2 "-dash disappears" gone -dash

# SIGTERM with a file still open: the mount goes, the daemon exits 0
# (under ASan: with nothing leaked), its rows go.
exec 6<"$MNT/d7/d7.img"
kill -TERM "$SERVE_PID"
status=0
wait "$SERVE_PID" || status=$?
forget_daemon "$SERVE_PID"
exec 6<&-
[ $status -eq 0 ] || die "vdiskfs serve exited with status $status on SIGTERM"
! mountpoint -q "$MNT" || die "$MNT is still mounted after SIGTERM"
[ "$(sqlite3 "$C" "SELECT count(*) FROM served WHERE pid = $SERVE_PID")" = 0 ] || die "rows of the stopped daemon stay"
"$VDISKFS" catalog --catalog "$C" show d7 >"$WORK/out" || die "show d7"
grep -qx "served by  not served" "$WORK/out" || die "show d7 after the stop: $(cat "$WORK/out")"
unmount_fg "$WORK/m0"
echo "PASS"
