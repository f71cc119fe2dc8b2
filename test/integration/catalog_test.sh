#!/bin/bash
# vdiskfs catalog add/remove/list/show with the real binary: what add
# records (canonical source, layout options, delta folder), duplicate and
# bad names, a delta folder another disk keeps, the default file in the
# state folder, show's deltas after a write through a mount, clones named
# by parent; and the files it must
# refuse without writing a byte, forged with sqlite3: a newer schema
# version, another program's database, a file that is no database, a cut
# file, a corrupt page. Every refusal: exit status 1, a message naming the
# file, the file unchanged (cmp).
source "$(dirname "$0")/lib.sh"
require_root
for t in "sqlite3 sqlite3" "jq jq" "setpriv util-linux" "fusermount3 fuse3" "mountpoint util-linux" \
         "$VDISKFS vdiskfs(build)"; do require $t; done
make_work
C=$WORK/catalog.db
mkdir "$WORK/src" "$WORK/mnt"
echo hello >"$WORK/src/hello.txt"
random_bytes 200000 >"$WORK/src/data"
tar -C "$WORK/src" -cf "$WORK/web02.tar" .

# cat_ok ARGS...: `vdiskfs catalog --catalog $C ARGS` succeeds; its stdout
# is in $OUT.
cat_ok() {
    OUT=$("$VDISKFS" catalog --catalog "$C" "$@" 2>"$WORK/err") || die "catalog $*: $(cat "$WORK/err")"
}
# refused STATUS WORDS FILE ARGS...: `vdiskfs catalog --catalog FILE ARGS`
# exits with STATUS, its message holds WORDS, and FILE's bytes (or its
# absence) stay as they were.
refused() {
    local want=$1 words=$2 file=$3 status=0 err
    shift 3
    local before=$WORK/before
    rm -f "$before"
    [ -e "$file" ] && cp "$file" "$before"
    "$VDISKFS" catalog --catalog "$file" "$@" >"$WORK/out" 2>"$WORK/err" || status=$?
    err=$(cat "$WORK/err")
    [ "$status" -eq "$want" ] || die "catalog $* on $file: exit status $status, not $want: $err"
    grep -qF -- "$words" <<<"$err" || die "catalog $* on $file: no '$words' in: $err"
    if [ -e "$before" ]; then
        cmp -s "$before" "$file" || die "catalog $* changed $file"
    else
        [ ! -e "$file" ] || die "catalog $* created $file"
    fi
    [ ! -e "$file-journal" ] || die "catalog $* left $file-journal"
}
# refused_file WORDS FILE ARGS...: refused with status 1, by a message that
# names FILE.
refused_file() {
    refused 1 "$1" "$2" "${@:3}"
    grep -qF -- "$2" "$WORK/err" || die "catalog ${*:3} on $2: the message does not name the file: $(cat "$WORK/err")"
}

# A missing catalog: list says so, show refuses, neither creates it.
cat_ok list
[ "$OUT" = "no disks in $C (it does not exist yet)" ] || die "list of a missing catalog: $OUT"
cat_ok list --json
[ "$OUT" = "[]" ] || die "list --json of a missing catalog: $OUT"
[ ! -e "$C" ] || die "list created $C"
refused_file "does not exist" "$C" show web01

# add: a directory with layout options, a tar by a relative path with
# --delta; both recorded canonical, with only the options given.
cat_ok add web01 "$WORK/src/../src" --layout single --fs fat32 --label WEB --json
jq -e --arg src "$WORK/src" '.name == "web01" and .source == $src and .parent == null and .identity == null
    and .layout == {"filesystem": "fat32", "label": "WEB", "layout": "single"}
    and (.delta_dir | test("^/var/lib/vdiskfs/web01-[0-9a-f]{8}$"))' <<<"$OUT" >/dev/null ||
    die "add web01 recorded: $OUT"
(cd "$WORK" && "$VDISKFS" catalog --catalog "$C" add web02 web02.tar --delta d2 --free 10%) >"$WORK/out" ||
    die "add web02 failed"
grep -qF "added web02 ($WORK/web02.tar) to $C; its deltas go to $WORK/d2" "$WORK/out" || die "add web02 said: $(cat "$WORK/out")"
[ "$(sqlite3 "$C" 'SELECT version FROM schema_version')" = 3 ] || die "schema_version is not 3"
[ "$(sqlite3 "$C" 'PRAGMA application_id')" = $((0x7664736b)) ] || die "application_id is not vdiskfs's"

# Refusals of add, each leaving the catalog as it was.
refused 1 "already has a disk named web01" "$C" add web01 "$WORK/web02.tar"
refused 1 "'a/b' cannot name a disk: it holds a '/'" "$C" add a/b "$WORK/src"
refused 1 "'..' cannot name a disk" "$C" add .. "$WORK/src"
refused 1 "'-x' cannot name a disk: it starts with '-'" "$C" add -- -x "$WORK/src"
refused 1 "cannot name a disk: it is 256 bytes long" "$C" add "$(printf 'x%.0s' {1..256})" "$WORK/src"
refused 1 "cannot name a disk: it holds the control character 0x0a" "$C" add $'a\nb' "$WORK/src"
refused 1 "source $WORK/nosuch does not exist" "$C" add web03 "$WORK/nosuch"
refused 1 "unknown filesystem 'nosuch'" "$C" add web03 "$WORK/src" --layout single --fs nosuch
refused 1 "--swap 3K is not a size" "$C" add web03 "$WORK/src" --swap 3K
refused 2 "SOURCE is required" "$C" add web03
# Two disks cannot share a delta folder (the second would find its delta
# locked, or both would write it), however the folder is spelt.
refused 1 "disk web02 of catalog $C already keeps its deltas in $WORK/d2: give web03 another --delta folder" \
    "$C" add web03 "$WORK/src" --delta "$WORK/d2"
refused 1 "disk web02 of catalog $C already keeps its deltas in $WORK/d2" "$C" add web03 "$WORK/src" --delta "$WORK/src/../d2/"

# list and show read without writing.
cp "$C" "$WORK/catalog.before"
cat_ok list
[ "$(printf 'NAME   SOURCE\nweb01  %s\nweb02  %s' "$WORK/src" "$WORK/web02.tar")" = "$OUT" ] || die "list: $OUT"
cat_ok list --json
[ "$(jq -r 'map(.name) | join(",")' <<<"$OUT")" = web01,web02 ] || die "list --json: $OUT"
cat_ok show web02 --json
jq -e --arg d "$WORK/d2" '.delta_dir == $d and .deltas == [] and .clones == [] and .served_by == null
    and .identity == null and .layout == {"free_space": "10%"}' <<<"$OUT" >/dev/null || die "show web02: $OUT"
cat_ok show web01
grep -qx "identity   not yet computed (known once a mount has built the disk)" <<<"$OUT" || die "show web01: $OUT"
grep -qx "served by  not served" <<<"$OUT" || die "show web01: $OUT"
cmp -s "$C" "$WORK/catalog.before" || die "list or show changed $C"

# show after a write through a mount that uses the disk's delta folder:
# the size and bytes written of web02.img, and the identity.
mount_fg "$WORK/web02.tar" "$WORK/mnt" --name web02 --delta "$WORK/d2" --formats img
random_bytes 8192 >"$WORK/pages"
dd if="$WORK/pages" of="$WORK/mnt/web02.img" bs=4096 seek=300 conv=notrunc,fsync status=none
img_size=$(stat -c %s "$WORK/mnt/web02.img")
fusermount3 -u "$WORK/mnt"
wait_gone "$MOUNT_PID" 10 || die "the mount of web02 did not end"
cat_ok show web02 --json
jq -e --argjson size "$img_size" '.deltas | length == 1 and .[0].exposed_file == "web02.img"
    and .[0].bytes_held == 8192 and .[0].logical_size == $size' <<<"$OUT" >/dev/null || die "show web02 after a write: $OUT"
jq -e '.identity | test("^[0-9a-f]{16,}$")' <<<"$OUT" >/dev/null || die "show web02: no identity from its delta: $OUT"
cat_ok show web02
grep -qE "^  web02.img: size [0-9.]+ MiB, 8.0 KiB written$" <<<"$OUT" || die "show web02 text: $OUT"

# Clones (made by hand until 'vdiskfs clone' exists): listed by their
# parent, which cannot be removed before them.
sqlite3 "$C" "INSERT INTO disks (name, source, delta_dir, parent, created) VALUES ('web02-a', '$WORK/web02.tar', '$WORK/d2a', 'web02', 0)"
cat_ok show web02 --json
[ "$(jq -c .clones <<<"$OUT")" = '["web02-a"]' ] || die "show web02 clones: $OUT"
refused 1 "disk web02 of catalog $C has clones (web02-a): remove them first" "$C" remove web02
cat_ok remove web02-a

# remove --keep-delta: gone from list; the deltas stay, and it says where.
cp -a "$WORK/d2" "$WORK/d2-copy"
cat_ok remove web02 --keep-delta
[ "$OUT" = "removed web02 from $C
its deltas stay in $WORK/d2 (vdiskfs delta discard $WORK/d2 deletes them)" ] || die "remove web02: $OUT"
[ -e "$WORK/d2/web02.img.delta" ] || die "remove --keep-delta deleted the deltas"
# remove (by default) deletes the disk's delta and its folder.
cat_ok add web02 "$WORK/web02.tar" --delta "$WORK/d2"
cat_ok remove web02
[ "$OUT" = "removed web02 from $C
deleted its delta (2 files in $WORK/d2)" ] || die "remove web02 without --keep-delta: $OUT"
[ ! -e "$WORK/d2" ] || die "remove left $WORK/d2: $(ls -A "$WORK/d2")"
cat_ok list --json
[ "$(jq -r 'map(.name) | join(",")' <<<"$OUT")" = web01 ] || die "list after remove: $OUT"
refused 1 "catalog $C has no disk named web02" "$C" remove web02

# The default file: catalog.db in the state folder ($XDG_STATE_HOME/vdiskfs
# for a user; /var/lib/vdiskfs for root, not touched here).
chmod 755 "$WORK"
mkdir "$WORK/xdg"
chown nobody "$WORK/xdg"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=/nonexistent XDG_STATE_HOME="$WORK/xdg" "$@"; }
as_nobody test -x "$VDISKFS" || die "user nobody cannot run $VDISKFS: build in a folder others can read"
as_nobody "$VDISKFS" catalog add web01 "$WORK/src" >"$WORK/out" || die "add as nobody failed"
grep -qE "^added web01 \($WORK/src\) to $WORK/xdg/vdiskfs/catalog.db; its deltas go to $WORK/xdg/vdiskfs/web01-[0-9a-f]{8}$" \
    "$WORK/out" || die "add as nobody said: $(cat "$WORK/out")"
[ "$(as_nobody "$VDISKFS" catalog list --json | jq -r '.[0].name')" = web01 ] || die "list as nobody"

# Files the catalog must not touch: each refused by every command, the
# file unchanged.
forge() { rm -f "$1"; cp "$C" "$1"; }
forge "$WORK/newer.db"
sqlite3 "$WORK/newer.db" 'UPDATE schema_version SET version = 4'
sqlite3 "$WORK/foreign.db" 'CREATE TABLE photos (id INTEGER PRIMARY KEY, path TEXT); INSERT INTO photos (path) VALUES ("a.jpg")'
random_bytes 10000 >"$WORK/random.db"
echo "name,source" >"$WORK/text.db"
forge "$WORK/big.db"
sqlite3 "$WORK/big.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
    INSERT INTO disks (name, source, delta_dir, created) SELECT 'disk' || i, '/srv/' || i, '/d/' || i, 0 FROM n"
head -c $(($(stat -c %s "$WORK/big.db") / 2)) "$WORK/big.db" >"$WORK/cut.db"
forge "$WORK/corrupt.db"
# Page 2's b-tree header (a table's root page): its cell count and pointers.
printf '\377%.0s' {1..13} | dd of="$WORK/corrupt.db" bs=1 seek=$((4096 + 3)) conv=notrunc status=none
for cmd in "list" "list --json" "show web01" "add web09 $WORK/src" "remove web01"; do
    # shellcheck disable=SC2086
    {
        refused_file "has schema version 4, newer than the 3 this vdiskfs knows" "$WORK/newer.db" $cmd
        refused_file "is a SQLite database of another program" "$WORK/foreign.db" $cmd
        refused_file "is not a vdiskfs catalog: not a SQLite database" "$WORK/random.db" $cmd
        refused_file "is not a vdiskfs catalog: not a SQLite database" "$WORK/text.db" $cmd
        refused_file "is cut short" "$WORK/cut.db" $cmd
        refused_file "is damaged" "$WORK/corrupt.db" $cmd
    }
done
echo "catalog: all checks passed"
