#!/bin/bash
# The source's own root is a directory like any other, and --one-file-system
# keeps mount points (issue 14, faults 2 and 3). Each disk is judged through
# the kernel's ext4 mounted over the FUSE file: e2fsck -fn clean, the tree
# equal to the source (treetool compare: content, type, mode, owners, mtime
# to the nanosecond, links), getfattr -d -m- and getfacl of every entry, and
# the root's own stat (atime, mtime, ctime with nanoseconds).
# 1. A directory whose root carries user.* and security.* xattrs, an access
#    and a default ACL, owner 1234:5678 and mode 750 (shown as 770: the
#    group bits are the ACL's mask; without the ACL the group would get the
#    mask's rwx instead of its r-x) (/work/shared/cases/dir-root-xattrs-acl.sh).
# 2. The same tree as a tar made with --xattrs --xattrs-include='*' --acls,
#    "./" included: its root is the "./" member.
# 3. A tar without "./" (its root implied by the members' parents): the
#    README's root-owned 0755 directory with the archive's mtime, no xattrs.
# 4. --one-file-system over tmpfs mounts on proc, run and data: each stays
#    an empty folder with the mount's own stat and xattrs (those of the
#    filesystem mounted there, as GNU tar --one-file-system records them: its
#    archive is the reference), the info line names them; without the option
#    their contents are on the disk.
source "$(dirname "$0")/lib.sh"
require_root
for t in "fusermount3 fuse3" "partx util-linux" "losetup mount" "mountpoint util-linux" "e2fsck e2fsprogs" \
         "getfattr attr" "setfattr attr" "getfacl acl" "setfacl acl" "tar tar" \
         "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do require $t; done
make_work
: >"$WORK/vdiskfs.log"
mkdir -p "$WORK/mnt" "$WORK/kview"

# kernel_view IMAGE: e2fsck -fn of partition 1 must be clean; then the
# kernel's ext4 of it, read-only, at $WORK/kview (lib.sh's kernel_mount).
kernel_view() { kernel_mount --fsck "$1" "$WORK/kview"; }
kernel_unview() { kernel_unmount; }

# meta DIR [FIND_OPTIONS...]: what the tree says of every entry below DIR
# (lost+found aside), in path order: the stat with nanosecond times,
# getfattr -d -m- and getfacl. Attributes are listed in name order (the
# order listxattr gives is the filesystem's own). Reading directories moves
# their atimes: take it before the scan (which moves none).
meta() {
    (
        cd "$1"
        shift
        find . "$@" -path ./lost+found -prune -o -print | LC_ALL=C sort | while read -r p; do
            stat -c '%n %F %A %u:%g atime=%x mtime=%y ctime=%z' -- "$p"
            getfattr -h -d -m- --absolute-names -- "$p" 2>/dev/null | sed '/^# file:/d; /^$/d' | LC_ALL=C sort
            [ -L "$p" ] || getfacl -n -p -- "$p" 2>/dev/null | sed '/^# file:/d'
        done
    )
}

# root_meta DIR: the same for DIR itself alone.
root_meta() {
    (
        cd "$1"
        stat -c '%F %A %u:%g atime=%x mtime=%y ctime=%z' .
        getfattr -d -m- --absolute-names . | sed '/^# file:/d; /^$/d' | LC_ALL=C sort
        getfacl -n -p . | sed '/^# file:/d'
    )
}

# expect_equal WHAT WANT GOT: the two texts must be equal.
expect_equal() {
    [ "$2" = "$3" ] || die "$1 differ: $(diff <(echo "$2") <(echo "$3"))"
}

# mount_judged SOURCE_DIR: mounts SOURCE_DIR read-only; the kernel's view
# of its disk equals it: treetool compare, and every entry's meta (taken
# before the mount, so that nothing read since moves an atime).
mount_judged() {
    local src=$1 want out
    want=$(meta "$src")
    mount_fg "$src" "$WORK/mnt" --read-only
    kernel_view "$WORK/mnt/$(basename "$src").img"
    out=$("$TREETOOL" compare "$src" "$WORK/kview" --ignore lost+found) || die "the kernel's view differs from $src: $out"
    echo "treetool: $out"
    expect_equal "metadata of $src and of the kernel's view" "$want" "$(meta "$WORK/kview")"
    kernel_unview
    unmount_fg "$WORK/mnt"
}

# 1. A directory whose root carries xattrs and ACLs.
root=$(bash /work/shared/cases/dir-root-xattrs-acl.sh "$WORK/case" | tail -1)
[ -d "$root" ] || root=$WORK/case/root
# More than the case gives: a trusted.* xattr, and nanosecond times before
# 1970 and after 2038 on the root (set last: the ACLs move the ctime only).
setfattr -n trusted.root -v "$(printf 'bin\001ary')" "$root"
touch -h -d '1969-07-20 20:17:40.123456789' "$root/sub/f"
touch -a -d '1965-01-02 03:04:05.000000001' "$root"
touch -m -d '2040-05-06 07:08:09.987654321' "$root"
# The root alone first: listing it (below) moves its atime.
root_want=$(root_meta "$root")
grep -q '^user.root="on"$' <<<"$root_want" && grep -q '^security.test="rootlabel"$' <<<"$root_want" &&
    grep -q '^user:1000:rwx$' <<<"$root_want" && grep -q '^default:user:1001:r-x$' <<<"$root_want" &&
    grep -q '^group::r-x$' <<<"$root_want" && grep -q '^mask::rwx$' <<<"$root_want" &&
    grep -q '^directory drwxrwx--- 1234:5678 ' <<<"$root_want" || die "the case's root is not as described: $root_want"
mount_fg "$root" "$WORK/mnt" --read-only
kernel_view "$WORK/mnt/root.img"
expect_equal "the root's stat, xattrs and ACLs (source root, kernel-mounted root)" "$root_want" "$(root_meta "$WORK/kview")"
kernel_unview
unmount_fg "$WORK/mnt"
echo "ok: a directory's root keeps its xattrs and ACLs: $(tr '\n' ' ' <<<"$root_want" | head -c 400)"
mount_judged "$root"
echo "ok: the whole tree equal"

# --no-xattrs: the root carries none either, like every other entry.
mount_fg "$root" "$WORK/mnt" --read-only --no-xattrs
kernel_view "$WORK/mnt/root.img"
out=$(cd "$WORK/kview" && getfattr -R -P -h -d -m- . 2>&1)
[ -z "$out" ] || die "--no-xattrs, yet the disk carries: $out"
kernel_unview
unmount_fg "$WORK/mnt"
echo "ok: --no-xattrs leaves the root's xattrs out as well"

# 2. The same tree as a tar with "./": the root is the "./" member.
tar --xattrs --xattrs-include='*' --acls --numeric-owner --atime-preserve=system -C "$root" -cf "$WORK/root.tar" .
members=$(tar -tf "$WORK/root.tar")
[ "$(sed -n 1p <<<"$members")" = ./ ] || die "the archive does not start with ./: $(sed -n 1,3p <<<"$members")"
# A tar carries no ctime nor atime of its members (pax from GNU tar: mtime
# only); the disk's are the archive's mtime for those. Compare the rest.
no_atime_ctime() { sed -E 's/ atime=[^ ]+ [^ ]+ [^ ]+ mtime=/ mtime=/; s/ ctime=.*$//'; }
mount_fg "$WORK/root.tar" "$WORK/mnt" --read-only
kernel_view "$WORK/mnt/root.img"
out=$("$TREETOOL" compare "$root" "$WORK/kview" --ignore lost+found) || die "the tar's disk differs from $root: $out"
expect_equal "the tar root's stat, xattrs and ACLs (source root, kernel-mounted root)" \
    "$(no_atime_ctime <<<"$root_want")" "$(root_meta "$WORK/kview" | no_atime_ctime)"
expect_equal "the tar's tree metadata" "$(meta "$root" | no_atime_ctime)" "$(meta "$WORK/kview" | no_atime_ctime)"
kernel_unview
unmount_fg "$WORK/mnt"
echo "ok: a tar's ./ member gives the root its xattrs and ACLs"

# 3. A tar without "./": the root is implied by its members' parents.
tar --xattrs --xattrs-include='*' --acls --numeric-owner -C "$root" -cf "$WORK/implied.tar" sub
touch -d '2031-03-04 05:06:07.5' "$WORK/implied.tar"
mount_fg "$WORK/implied.tar" "$WORK/mnt" --read-only
kernel_view "$WORK/mnt/implied.img"
got=$(root_meta "$WORK/kview")
want="directory drwxr-xr-x 0:0 atime=$(stat -c %y "$WORK/implied.tar") mtime=$(stat -c %y "$WORK/implied.tar") ctime=$(stat -c %y "$WORK/implied.tar")
$(printf '%s\n' '# owner: 0' '# group: 0' user::rwx group::r-x other::r-x)"
expect_equal "the implied root" "$want" "$got"
expect_equal "sub below the implied root" "$(meta "$root" | grep -A100 '^./sub ' | no_atime_ctime)" \
    "$(meta "$WORK/kview" | grep -A100 '^./sub ' | no_atime_ctime)"
kernel_unview
unmount_fg "$WORK/mnt"
echo "ok: a tar without ./ has the implied root (root, 0755, the archive's mtime, no xattrs)"

# 4. --one-file-system keeps mount points as empty folders.
ofs=$(bash /work/shared/cases/one-file-system-mountpoints.sh "$WORK/ofs" | tail -1)
for m in proc run data; do CLEANUP_MOUNTS+=("$ofs/$m"); done
# The folders beneath the mounts get their own metadata, so the disk shows
# which one it recorded; the mounted roots get theirs (and xattrs).
ns=100000001
for m in proc run data; do
    ns=$((ns + 111111111))
    mountpoint -q "$ofs/$m" || die "$ofs/$m is not a mount point"
    chmod 0700 "$ofs/$m"
    chown 4321:8765 "$ofs/$m"
    setfattr -n trusted.mounted -v "$m" "$ofs/$m"
    touch -d "2019-01-01 00:00:00.$ns" "$ofs/$m"
done
chmod 1777 "$ofs/run"
mkdir "$WORK/under"
mount --bind "$ofs" "$WORK/under"
CLEANUP_MOUNTS+=("$WORK/under")
under=$(stat -c '%A %u:%g %y' "$WORK/under/proc")  # the folder beneath the mount
umount "$WORK/under"
[ "$under" != "$(stat -c '%A %u:%g %y' "$ofs/proc")" ] || die "the folder beneath the mount looks like the mount: $under"

# Without the option: the contents of the mounted filesystems are there.
mount_judged "$ofs"
echo "ok: without --one-file-system the mounted filesystems' files are on the disk"

# The reference: GNU tar --one-file-system, extracted (mode, owners, mtime, xattrs).
mkdir "$WORK/tar-ref"
tar --one-file-system --xattrs --xattrs-include='*' --numeric-owner -C "$ofs" -cf "$WORK/ofs.tar" . 2>"$WORK/tar.err" ||
    die "tar --one-file-system failed: $(cat "$WORK/tar.err")"
tar --xattrs --xattrs-include='*' --numeric-owner -C "$WORK/tar-ref" -xpf "$WORK/ofs.tar"
want=$(meta "$ofs" -xdev)
log_mark
mount_fg "$ofs" "$WORK/mnt" --read-only --one-file-system
kernel_view "$WORK/mnt/src.img"
for m in proc run data; do
    [ -d "$WORK/kview/$m" ] || die "--one-file-system: $m is missing"
    [ -z "$(ls -A "$WORK/kview/$m")" ] || die "--one-file-system: $m is not empty: $(ls -A "$WORK/kview/$m")"
done
out=$("$TREETOOL" compare "$WORK/tar-ref" "$WORK/kview" --ignore lost+found) ||
    die "--one-file-system: the disk differs from GNU tar --one-file-system's archive: $out"
echo "treetool against tar --one-file-system: $out"
# Every entry's stat, xattrs and ACLs equal the source's as it is seen
# (the mount points: their mounted roots), the mounted files aside.
expect_equal "--one-file-system: metadata of the source and of the disk" "$want" "$(meta "$WORK/kview")"
got=$(cd "$WORK/kview" && getfattr -n trusted.mounted --only-values proc run data | tr '\0' ' ')
[ "$got" = "procrundata" ] || die "--one-file-system: the mount points' xattrs: '$got'"
[ "$(stat -c '%A %u:%g %y' "$WORK/kview/proc")" != "$under" ] || die "the disk recorded the folder beneath the mount"
kernel_unview
unmount_fg "$WORK/mnt"
log=$(log_since)
want_log="info: --one-file-system: 3 directories of directory $ofs on other filesystems kept empty, not descended into:"
grep -qF -- "$want_log" <<<"$log" || die "--one-file-system: no info line '$want_log' in: $log"
for m in data proc run; do grep -qE "info:   $m$" <<<"$log" || die "--one-file-system: the info line does not list $m: $log"; done
for m in proc run data; do umount "$ofs/$m"; done
echo "ok: --one-file-system keeps proc, run and data as empty folders with their mounts' stat and xattrs (as GNU tar does); logged: $want_log"
