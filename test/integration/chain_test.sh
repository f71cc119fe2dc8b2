#!/bin/bash
# Chains of GNU tar --listed-incremental archives (issue 17): a small server
# tree backed up three times (a full backup, then two incrementals) with
# files added, changed, deleted and renamed, directories removed and
# renamed (twice), a file replaced by a directory, hard links made within
# and between backups, owners and modes changed. Each point in time
# (--at 1, 2, 3) mounted through the kernel's ext4 must equal what
# `tar --listed-incremental=/dev/null -x` of the archives up to that point
# leaves, entry by entry (content, modes, owners, times, link targets, link
# counts). `info --json` lists the points with their counts; --chain FILE
# gives the same disk as full+incr1+incr2; a chain of gzip and zstd
# archives gives the same disk as the plain one. Refused, each with its
# message: a missing level, the wrong order, a first archive that is not a
# full backup, an archive not made by --listed-incremental, --at beyond
# the chain. The archives' kept indexes give the same disk. No archive
# changes.
source "$(dirname "$0")/lib.sh"
require_root
for t in "tar tar" "gzip gzip" "zstd zstd" "e2fsck e2fsprogs" "losetup mount" "fusermount3 fuse3" "jq jq" \
         "mkfifo coreutils" "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do
    require $t
done

make_work
S=$WORK/server
mkdir -p "$S"/etc "$S"/home/alice "$S"/home/bob "$S"/var/log "$S"/old/deep/er "$S"/srv/www
echo "127.0.0.1 localhost" >"$S/etc/hosts"
random_bytes 300000 >"$S/home/alice/photo.bin"
echo "bob's notes" >"$S/home/bob/notes"
printf 'line 1\n' >"$S/var/log/app.log"
echo "soon a directory" >"$S/var/thing"
echo "in a directory that goes" >"$S/old/deep/er/file"
echo "<h1>www</h1>" >"$S/srv/www/index.html"
ln -s ../etc/hosts "$S/srv/hosts-link"
ln "$S/home/alice/photo.bin" "$S/home/bob/photo-link"  # a hard link within the full backup
mkfifo "$S/var/fifo"
chown -R 1001:1002 "$S/home/alice"
chmod 0700 "$S/home/alice"

# backup N: level N of the chain, $WORK/levelN.tar; the changes that follow
# are a second later (tar compares times with the snapshot's).
backup() {
    (cd "$S" && tar --listed-incremental="$WORK/snapshot" --numeric-owner -cf "$WORK/level$1.tar" .) ||
        die "tar --listed-incremental (level $1) failed"
    sleep 1.1
}
backup 0
printf 'line 2\n' >>"$S/var/log/app.log"            # changed
rm "$S/home/bob/notes"                              # deleted
mv "$S/srv/www" "$S/srv/site"                       # a directory renamed
echo "todo" >"$S/home/bob/todo"
ln "$S/home/bob/todo" "$S/home/alice/todo-link"     # a hard link within the incremental
ln "$S/etc/hosts" "$S/etc/hosts.bak"                # a hard link to a file of the full backup
rm "$S/var/thing" && mkdir "$S/var/thing" && echo "inside" >"$S/var/thing/now"  # a file became a directory
# (removed after the new directory exists: GNU tar takes a directory that
# reuses a removed one's inode number for a rename)
rm -r "$S/old"                                      # a directory tree removed
backup 1
rm "$S/home/alice/photo.bin"                        # one name of a pair gone
mv "$S/etc/hosts.bak" "$S/etc/hosts.old"            # a file renamed
chmod 0600 "$S/srv/site/index.html"                 # metadata only
chown 1003:1003 "$S/var/log/app.log"
mkdir "$S/srv/site/img" && random_bytes 70000 >"$S/srv/site/img/logo.png"
mv "$S/srv/site" "$S/srv/web"                       # renamed again
backup 2
declare -A sums
for n in 0 1 2; do sums[$n]=$(sha256sum <"$WORK/level$n.tar"); done
chain="$WORK/level0.tar+$WORK/level1.tar+$WORK/level2.tar"

# The reference of each point: extraction of the archives up to it.
for n in 1 2 3; do
    mkdir "$WORK/ref$n"
    for ((k = 0; k < n; k++)); do
        tar --listed-incremental=/dev/null --numeric-owner -xpf "$WORK/level$k.tar" -C "$WORK/ref$n" ||
            die "tar -x of level$k.tar into ref$n failed"
    done
done
[ -e "$WORK/ref3/srv/web/img/logo.png" ] && [ ! -e "$WORK/ref3/old" ] && [ ! -e "$WORK/ref2/home/bob/notes" ] ||
    die "the reference extraction is not what the test made"

mkdir "$WORK/mnt" "$WORK/kernel"
for n in 1 2 3; do
    mount_fg "$chain" "$WORK/mnt" --read-only --at "$n"
    kernel_mount --fsck "$WORK/mnt/level0.img"
    "$TREETOOL" compare "$WORK/ref$n" "$WORK/kernel" --ignore lost+found ||
        die "point $n of the chain differs from the extraction of its archives"
    echo "ok: point $n of the chain equals tar -x of levels 0..$((n - 1))"
    kernel_unmount
    [ "$n" = 3 ] && cp "$WORK/mnt/level0.img" "$WORK/chain3.img"
    unmount_fg "$WORK/mnt"
done

# info: the points in time with their counts.
info=$("$VDISKFS" info --json --at 2 "$chain") || die "vdiskfs info of the chain failed"
jq -e '.chain | length == 3' <<<"$info" >/dev/null || die "info does not list 3 points: $info"
jq -e '.chain[1].shown and (.chain[2].shown | not)' <<<"$info" >/dev/null || die "info --at 2 does not show point 2: $info"
# level 1: notes, old, old/deep, old/deep/er, old/deep/er/file removed; www
# renamed; app.log and the file var/thing (now a directory) changed
jq -e '.chain[1].removed == 5 and .chain[1].renamed_directories == 1 and .chain[1].changed >= 2' <<<"$info" >/dev/null ||
    die "point 2's counts are wrong: $(jq -c '.chain[1]' <<<"$info")"
jq -e '.chain[0].changed == 0 and .chain[0].removed == 0 and .chain[0].added == .chain[0].entries' <<<"$info" >/dev/null ||
    die "point 1 (the full backup) counts are wrong: $(jq -c '.chain[0]' <<<"$info")"
jq -e '.chain[2].renamed_directories == 1 and .chain[2].added >= 3' <<<"$info" >/dev/null ||
    die "point 3's counts are wrong: $(jq -c '.chain[2]' <<<"$info")"
echo "ok: info --json lists the three points: $(jq -c '[.chain[] | {at, added, changed, removed, renamed_directories}]' <<<"$info")"

# Each archive keeps its index; the second time the chain comes from them.
"$VDISKFS" info --index-dir "$WORK/index" "$chain" >/dev/null 2>&1 || die "info --index-dir failed"
out=$("$VDISKFS" export --index-dir "$WORK/index" "$chain" "$WORK/indexed.img" 2>&1) || die "export from the kept indexes failed: $out"
[ "$(grep -c "from the kept index" <<<"$out")" = 3 ] || die "not every archive of the chain came from its kept index: $out"
cmp "$WORK/indexed.img" "$WORK/chain3.img" || die "the chain's disk from the kept indexes differs"
echo "ok: the chain's three archives from their kept indexes give the same disk"

# --chain FILE: the same disk.
cat >"$WORK/web01.chain" <<'EOF'
# web01, full backup first
level0.tar

level1.tar
level2.tar
EOF
"$VDISKFS" export -q --chain "$WORK/web01.chain" "$WORK/from-list.img" || die "vdiskfs export --chain failed"
cmp "$WORK/from-list.img" "$WORK/chain3.img" || die "the disk of --chain web01.chain differs from that of $chain"
echo "ok: --chain FILE gives the disk of full+incr1+incr2"
expect_status "$EXIT_USAGE" "not both" "$VDISKFS" info --chain "$WORK/web01.chain" "$chain"

# A chain of compressed archives: the same disk.
gzip -c "$WORK/level0.tar" >"$WORK/level0.tar.gz"
zstd -q -c "$WORK/level1.tar" >"$WORK/level1.tar.zst"
touch -r "$WORK/level0.tar" "$WORK/level0.tar.gz"
touch -r "$WORK/level1.tar" "$WORK/level1.tar.zst"
"$VDISKFS" export -q "$WORK/level0.tar.gz+$WORK/level1.tar.zst+$WORK/level2.tar" "$WORK/compressed.img" ||
    die "vdiskfs export of the compressed chain failed"
cmp "$WORK/compressed.img" "$WORK/chain3.img" || die "the disk of the gzip+zstd+tar chain differs from the plain chain's"
echo "ok: a chain of .tar.gz + .tar.zst + .tar gives the plain chain's disk"

# Refusals.
expect_status "$EXIT_REFUSED" "a level of the chain is missing or the archives are out of order" \
    "$VDISKFS" info "$WORK/level0.tar+$WORK/level2.tar"
grep -qF "$WORK/level2.tar" <<<"$OUT" || die "the refusal does not name the archive: $OUT"
expect_status "$EXIT_REFUSED" "a level of the chain is missing or the archives are out of order" \
    "$VDISKFS" info "$WORK/level0.tar+$WORK/level2.tar+$WORK/level1.tar"
expect_status "$EXIT_REFUSED" "must be a full (level 0) backup" \
    "$VDISKFS" info "$WORK/level1.tar+$WORK/level2.tar"
tar -C "$S" -cf "$WORK/plain.tar" . || die "tar failed"
expect_status "$EXIT_REFUSED" "$WORK/plain.tar holds no directory listings (dumpdirs): it was not made by GNU tar --listed-incremental" \
    "$VDISKFS" info "$WORK/level0.tar+$WORK/plain.tar"
expect_status "$EXIT_REFUSED" "--at 4: the chain has 3 archives" "$VDISKFS" info --at 4 "$chain"
expect_status "$EXIT_REFUSED" "$WORK/nothing.tar" "$VDISKFS" info "$WORK/level0.tar+$WORK/nothing.tar"
expect_status "$EXIT_USAGE" "--at" "$VDISKFS" info --at 0 "$chain"
expect_status "$EXIT_REFUSED" "--at is for a chain" "$VDISKFS" info --at 1 "$S"

for n in 0 1 2; do
    [ "${sums[$n]}" = "$(sha256sum <"$WORK/level$n.tar")" ] || die "level$n.tar changed"
done
echo "PASS chain_test"
