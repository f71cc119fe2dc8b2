#!/bin/bash
# vdiskfs clone with the real binary and qemu-io: a backup (a directory)
# in a catalog, written through its .qcow2 on `vdiskfs serve`; three clones
# of it and a clone of a clone, each written with its own pattern through
# qemu-io: each reads its own pattern and its ancestors' writes made before
# it was cloned, never a sibling's; qemu-img check clean on every .qcow2;
# the same after a restart of serve. catalog show draws the tree and lists
# the layers. Linkage faults: a frozen layer written to behind vdiskfs's
# back, a changed source, a reordered chain of layers: each reported by
# catalog check (exit 1) naming the layer and what changed, and the disk
# refused by serve (an ERROR folder saying so); clean again once restored.
# clone merge folds a clone into its parent (refused while the parent has
# other clones, or writes of its own without --force); catalog remove drops
# the deltas and the layers nobody stands on.
source "$(dirname "$0")/lib.sh"
require_root
for t in "fusermount3 fuse3" "mountpoint util-linux" "qemu-io qemu-utils" "qemu-img qemu-utils" "jq jq" \
         "sqlite3 sqlite3" "$VDISKFS vdiskfs(build)"; do require $t; done
make_work
: >"$WORK/vdiskfs.log"
C=$WORK/catalog.db
MNT=$WORK/mnt
mkdir -p "$MNT" "$WORK/src/etc"
echo "web01" >"$WORK/src/etc/hostname"
random_bytes 300000 >"$WORK/src/data"

cat_ok() { OUT=$("$VDISKFS" catalog --catalog "$C" "$@" 2>"$WORK/err") || die "catalog $*: $(cat "$WORK/err")"; }
clone_ok() { OUT=$("$VDISKFS" clone --catalog "$C" "$@" 2>"$WORK/err") || die "clone $*: $(cat "$WORK/err")"; echo "ok: clone $*: $OUT"; }

# serve_start / serve_stop: the serve daemon on $MNT, started in the
# foreground in the background of this shell; start waits until every
# disk named in DISKS has its .qcow2.
DISKS=()
serve_start() {
    "$VDISKFS" serve -f "$MNT" --catalog "$C" 2>>"$WORK/vdiskfs.log" &
    SERVE_PID=$!
    CLEANUP_PIDS+=("$SERVE_PID")
    DAEMON_PIDS+=("$SERVE_PID")
    CLEANUP_MOUNTS+=("$MNT")
    local d
    for d in "${DISKS[@]}"; do
        wait_serving "serve ($d)" "$SERVE_PID" "$WORK/vdiskfs.log" test -f "$MNT/$d/$d.qcow2"
    done
}
serve_stop() {
    kill -TERM "$SERVE_PID"
    local status=0
    wait "$SERVE_PID" || status=$?
    forget_daemon "$SERVE_PID"
    [ $status -eq 0 ] || die "vdiskfs serve exited with status $status on SIGTERM"
    ! mountpoint -q "$MNT" || die "$MNT still mounted after serve stopped"
}

# Offsets (bytes into the guest disk) written below: X by web01 before any
# clone, Y by each disk after the clones, Z by c1 and c1a after c1a.
X=$((3 << 20))
Y=$((5 << 20))
Z=$((7 << 20))
# write DISK OFFSET PATTERN: 64 KiB of PATTERN through qemu-io on its qcow2.
write() {
    qemu-io -f qcow2 -c "write -P $3 $2 64k" "$MNT/$1/$1.qcow2" >"$WORK/qio" 2>&1 || die "write $1 at $2: $(cat "$WORK/qio")"
}
# expect DISK OFFSET PATTERN: its 64 KiB at OFFSET read PATTERN through the
# qcow2 (0 for never written: the base's bytes there are zeros).
expect() {
    qemu-io -r -f qcow2 -c "read -P $3 $2 64k" "$MNT/$1/$1.qcow2" >"$WORK/qio" 2>&1 || die "qemu-io on $1: $(cat "$WORK/qio")"
    ! grep -q "Pattern verification failed" "$WORK/qio" || die "$1 at $2 does not read pattern $3: $(head -3 "$WORK/qio")"
}
base_zero() { qemu-io -r -f raw -c "read -P 0 $1 64k" "$MNT/web01/web01.img" | grep -q "Pattern verification failed" && die "offset $1 of the base is not zeros"; true; }

cat_ok add web01 "$WORK/src" --delta "$WORK/delta/web01"
DISKS=(web01)
serve_start
for o in $X $Y $Z; do base_zero $o; done
write web01 $X 0xa1

# Clones of a served disk: the command asks the daemon, which freezes the
# deltas with no write running; each clone appears in the mount.
clone_ok web01 c1 --delta "$WORK/delta/c1"
grep -qF "cloned web01 as c1 (by the serving daemon, at a flush point): web01's writes so far are frozen in layer web01-1 ($WORK/layers/web01-1" \
    <<<"$OUT" || die "clone c1 said: $OUT"
[ -f "$WORK/layers/web01-1/web01.qcow2.delta" ] || die "no frozen web01.qcow2.delta in $WORK/layers/web01-1"
wait_serving "serve (c1)" "$SERVE_PID" "$WORK/vdiskfs.log" test -f "$MNT/c1/c1.qcow2"
clone_ok web01 c2 --delta "$WORK/delta/c2" --json
jq -e '.new_layer == null and .layers == ["web01-1"] and .by_daemon' <<<"$OUT" >/dev/null || die "clone c2 --json: $OUT"
# c3 while qemu-io holds web01's qcow2 open and writes to it.
qemu-io -f qcow2 -c "write -P 0xa2 $Y 64k" -c flush -c "sleep 1500" -c "write -P 0xa2 $((Y + 65536)) 64k" \
    "$MNT/web01/web01.qcow2" >"$WORK/qio.bg" 2>&1 &
QIO_PID=$!
sleep 0.5
clone_ok web01 c3 --delta "$WORK/delta/c3"
wait "$QIO_PID" || die "qemu-io writing during the clone failed: $(cat "$WORK/qio.bg")"
expect_status "$EXIT_REFUSED" "already has a disk named c3" "$VDISKFS" clone --catalog "$C" web01 c3
expect_status "$EXIT_REFUSED" "has no disk named nope" "$VDISKFS" clone --catalog "$C" nope c9
DISKS=(web01 c1 c2 c3)
for d in "${DISKS[@]}"; do wait_serving "serve ($d)" "$SERVE_PID" "$WORK/vdiskfs.log" test -f "$MNT/$d/$d.qcow2"; done
write c1 $Y 0xb1
write c2 $Y 0xb2
serve_stop
DISKS=(web01 c1 c2 c3)
serve_start
write c3 $Y 0xb3
serve_stop
# A disk that is not served is cloned by the command itself.
clone_ok c1 c1a --delta "$WORK/delta/c1a"
# Its delta folder stands on layers: a plain mount of it (without them)
# is refused rather than shown without their writes.
mkdir -p "$WORK/plain"
expect_status "$EXIT_REFUSED" "the delta in $WORK/delta/c1 stands on frozen layers" \
    "$VDISKFS" mount -f "$WORK/src" "$WORK/plain" --name c1 --delta "$WORK/delta/c1"
DISKS=(web01 c1 c2 c3 c1a)
serve_start
write c1 $Z 0xb9
write c1a $Z 0xc1

# Each disk: its own writes and its ancestors' from before it was cloned.
check_patterns() {
    expect web01 $X 0xa1 && expect web01 $Y 0xa2 && expect web01 $((Y + 65536)) 0xa2 && expect web01 $Z 0
    expect c1 $X 0xa1 && expect c1 $Y 0xb1 && expect c1 $Z 0xb9
    expect c2 $X 0xa1 && expect c2 $Y 0xb2 && expect c2 $Z 0
    expect c3 $X 0xa1 && expect c3 $Y 0xb3 && expect c3 $((Y + 65536)) 0 && expect c3 $Z 0
    expect c1a $X 0xa1 && expect c1a $Y 0xb1 && expect c1a $Z 0xc1
    local d
    for d in "${DISKS[@]}"; do
        qemu-img check -f qcow2 "$MNT/$d/$d.qcow2" >"$WORK/check" 2>&1 || die "qemu-img check $d: $(cat "$WORK/check")"
    done
    echo "ok: every disk reads its own and its ancestors' patterns, none a sibling's; qemu-img check clean"
}
check_patterns
serve_stop
serve_start
check_patterns
serve_stop

# show: the layers under a disk and the tree of clones.
cat_ok show c1a --json
jq -e '[.layers[].id] == ["web01-1", "c1-1"] and .clone_tree.name == "web01"
    and ([.clone_tree.clones[].name] == ["c1", "c2", "c3"]) and .clone_tree.clones[0].clones[0].name == "c1a"' \
    <<<"$OUT" >/dev/null || die "show c1a --json: $OUT"
cat_ok show web01
grep -qF "├── c1" <<<"$OUT" && grep -qF "│   └── c1a" <<<"$OUT" && grep -qF "└── c3" <<<"$OUT" || die "show web01 tree: $OUT"
cat_ok check
[ "$OUT" = "5 disks checked, 0 linkage faults" ] || die "check of a sound catalog: $OUT"

# fault_case WHAT WORDS DISK: catalog check exits 1 naming WORDS, and serve
# gives DISK an ERROR folder saying WORDS.
fault_case() {
    expect_status "$EXIT_REFUSED" "$2" "$VDISKFS" catalog --catalog "$C" check
    DISKS=()
    serve_start
    wait_serving "serve ($3 ERROR)" "$SERVE_PID" "$WORK/vdiskfs.log" test -f "$MNT/$3/ERROR"
    grep -qF "$2" "$MNT/$3/ERROR" || die "$1: $MNT/$3/ERROR says: $(cat "$MNT/$3/ERROR")"
    [ ! -e "$MNT/$3/$3.qcow2" ] || die "$1: $3 is served despite its linkage fault"
    serve_stop
    echo "ok: $1 refused and reported"
}

# A frozen layer written to behind vdiskfs's back.
L=$WORK/layers/web01-1/web01.qcow2.delta
cp -p "$L" "$WORK/layer.copy"
printf 'x' | dd of="$L" bs=1 seek=5000 conv=notrunc status=none
fault_case "a written frozen layer" "frozen delta $L of layer web01-1 was written to after it was frozen" c2
cp -p "$WORK/layer.copy" "$L"

# A changed source: every disk stands on it.
cp -p "$WORK/src/etc/hostname" "$WORK/hostname.copy"
touch -d '2001-01-01' "$WORK/src/etc/hostname"
fault_case "a changed source" "layer web01-1 ($WORK/layers/web01-1) was frozen over identity" c3
touch -r "$WORK/hostname.copy" "$WORK/src/etc/hostname"

# A reordered chain: c1-1 put straight on the disk, web01-1 left out.
sqlite3 "$C" "UPDATE layers SET below = NULL WHERE id = 'c1-1'"
fault_case "a layer missing from the chain" "layer c1-1 ($WORK/layers/c1-1) was frozen over identity" c1a
sqlite3 "$C" "UPDATE layers SET below = 'web01-1' WHERE id = 'c1-1'"
cat_ok check
[ "$OUT" = "5 disks checked, 0 linkage faults" ] || die "check after the restores: $OUT"

# merge: refused while the parent has other clones; refused without
# --force when the parent wrote since; then c1 is c1a's state.
expect_status "$EXIT_REFUSED" "disk web01 of catalog $C has other clones besides c3 (c1, c2, c3)" \
    "$VDISKFS" clone --catalog "$C" merge c3
expect_status "$EXIT_REFUSED" "disk c1 was written to since c1a was cloned from it" \
    "$VDISKFS" clone --catalog "$C" merge c1a
OUT=$("$VDISKFS" clone --catalog "$C" merge c1a --force 2>"$WORK/err") || die "merge c1a --force: $(cat "$WORK/err")"
grep -qF "merged c1a into c1" <<<"$OUT" || die "merge said: $OUT"
[ ! -e "$WORK/delta/c1a" ] || die "merge left the delta of c1a"
# remove c2 and c3: their deltas go; web01-1 stays (web01 and c1 stand on it).
cat_ok remove c2
cat_ok remove c3
[ ! -e "$WORK/delta/c2" ] && [ -d "$WORK/layers/web01-1" ] || die "remove c2: $(ls "$WORK/delta" "$WORK/layers")"
DISKS=(web01 c1)
serve_start
expect c1 $X 0xa1 && expect c1 $Y 0xb1 && expect c1 $Z 0xc1
expect web01 $Y 0xa2
[ ! -e "$MNT/c1a" ] || die "c1a is still served after the merge"
serve_stop
cat_ok remove c1
grep -qF "deleted frozen layer c1-1 ($WORK/layers/c1-1)" <<<"$OUT" || die "remove c1: $OUT"
[ ! -e "$WORK/layers/c1-1" ] && [ -d "$WORK/layers/web01-1" ] || die "after remove c1: $(ls "$WORK/layers")"
cat_ok remove web01
[ -z "$(ls -A "$WORK/layers")" ] || die "layers left after every disk went: $(ls "$WORK/layers")"
echo "clone: all checks passed"
