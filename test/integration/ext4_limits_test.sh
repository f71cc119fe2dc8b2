#!/bin/bash
# What a source holds that ext4 cannot (issue 14, fault 4), judged by the
# kernel's ext4 and e2fsck: a file with more than 65,000 names, from a tar
# (/work/shared/cases/hardlinks-over-65000.sh's archive) and from a
# directory (on tmpfs), is split over inodes of at most 65,000 names that
# read the same bytes; a directory with more than 65,000 subdirectories gets
# dir_nlink's link count 1; a name over 255 bytes, a symlink target over
# 4095 bytes (both only from a tar), a file over 16 TiB - 4 KiB and xattrs
# that fit nowhere (from a tar and from a directory on XFS) are left out
# while their neighbours at the limit are kept. Each disk is
# e2fsck -fn clean, each change is a warning naming the entry and what was
# done, and --strict refuses each case with exit status 1.
source "$(dirname "$0")/lib.sh"
require_root
for t in "python3 python3" "e2fsck e2fsprogs" "partx util-linux" "losetup mount" "mountpoint util-linux" \
         "fusermount3 fuse3" "getfattr attr" "mkfs.xfs xfsprogs" "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
mkdir "$WORK/mnt" "$WORK/k"

# limits_mount SOURCE: mounts SOURCE with vdiskfs (its warnings in WARN)
# and, after e2fsck -fn finds it clean, its ext4 with the kernel at $WORK/k.
limits_mount() {
    [ -f "$WORK/vdiskfs.log" ] || : >"$WORK/vdiskfs.log"
    log_mark
    mount_fg "$1" "$WORK/mnt" --read-only
    WARN=$(log_since | grep warning || true)
    kernel_mount --fsck "$(ls "$WORK"/mnt/*.img)" "$WORK/k"
}

limits_unmount() {
    kernel_unmount
    unmount_fg "$WORK/mnt"
}

# expect_warning TEXT: the last mount warned TEXT (a fixed string, a whole line's tail).
expect_warning() {
    grep -qF -- "$1" <<<"$WARN" || die "expected the warning '$1'; the mount warned: $WARN"
    echo "ok: warned '$1'"
}

# expect_listing TEXT: the kernel's view at $WORK/k, "TYPE PATH " per entry
# (find's %y), sorted, lost+found aside, is TEXT.
expect_listing() {
    local listing
    listing=$(cd "$WORK/k" && find . -path ./lost+found -prune -o -printf '%y %p\n' | LC_ALL=C sort | tr '\n' ' ')
    [ "$listing" = "$1" ] || die "the kernel sees: $listing"
}

# expect_strict SOURCE TEXT: --strict refuses SOURCE with exit status 1 saying TEXT, mounting nothing.
expect_strict() {
    expect_status "$EXIT_REFUSED" "$2" "$VDISKFS" mount --strict --read-only "$1" "$WORK/mnt"
    ! mountpoint -q "$WORK/mnt" || die "--strict mounted $1"
}

# check_split DIR NAMES ATTRS: the regular files under DIR are NAMES names
# of at least 2 inodes, each with as many links as names (at most 65000),
# all with the attributes ATTRS ("mode uid gid mtime size") and reading "hello".
check_split() {
    local dir=$1 names=$2 attrs=$3 t0=$SECONDS
    find "$dir" -type f -printf '%i %n %m %U %G %Ts %s\n' | sort | uniq -c >"$WORK/inodes"
    cat "$WORK/inodes"
    awk -v names="$names" -v attrs="$attrs" '
        { sum += $1; n++
          if ($1 != $3) { print "inode " $2 ": " $1 " names but link count " $3; bad = 1 }
          if ($3 > 65000) { print "inode " $2 ": link count " $3 " > 65000"; bad = 1 }
          a = $4 " " $5 " " $6 " " $7 " " $8
          if (a != attrs) { print "inode " $2 ": attributes " a ", expected " attrs; bad = 1 } }
        END { if (n < 2) { print n " inode(s), expected a split"; bad = 1 }
              if (sum != names) { print sum " names, expected " names; bad = 1 }
              exit bad }' "$WORK/inodes" || die "the split of $dir is wrong (above)"
    local content
    content=$(cd "$dir" && find . -type f -print0 | xargs -0 cat | uniq -c)
    [ "$(tr -s ' ' <<<"$content")" = " $names hello" ] || die "the names of $dir do not all read 'hello': $content"
    echo "ok: $names names over $(wc -l <"$WORK/inodes") inodes, each read 'hello' ($((SECONDS - t0)) s)"
}

# ---------------------------------------------------------------- 70,001 names, from a tar
t0=$SECONDS
# The archive of /work/shared/cases/hardlinks-over-65000.sh.
python3 - "$WORK/links70k.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo('d/target'); ti.size = 6; ti.mtime = 1600000000
    t.addfile(ti, io.BytesIO(b'hello\n'))
    for i in range(70000):
        li = tarfile.TarInfo('d/l%05d' % i); li.type = tarfile.LNKTYPE
        li.linkname = 'd/target'; li.mtime = 1600000000
        t.addfile(li)
PY
limits_mount "$WORK/links70k.tar"
expect_warning "1 entry of the source exceeds ext4's limits (use --strict to fail instead):"
expect_warning "d/l00000: 70001 hard links, more than ext4's 65000 per inode; its names are split over 2 inodes of at most 65000 names each, whose data reads the same source bytes (nothing is copied)"
check_split "$WORK/k/d" 70001 "644 0 0 1600000000 6"
limits_unmount
expect_strict "$WORK/links70k.tar" "ext4 cannot hold d/l00000: 70001 hard links, more than ext4's 65000 per inode (without --strict: its names are split over 2 inodes"
echo "ok: tar with 70,001 names of one file ($((SECONDS - t0)) s)"

# ---------------------------------------------------------------- 70,001 names, from a directory
# On tmpfs: ext4 (where the work folder usually is) refuses a 65,001st link.
t0=$SECONDS
mkdir "$WORK/dir70k"
mount -t tmpfs -o size=64m,mode=755 vdiskfs-test "$WORK/dir70k"
CLEANUP_MOUNTS+=("$WORK/dir70k")
mkdir "$WORK/dir70k/d"
printf 'hello\n' >"$WORK/dir70k/d/target"
chmod 640 "$WORK/dir70k/d/target"
chown 1234:5678 "$WORK/dir70k/d/target"
touch -d @1500000000 "$WORK/dir70k/d/target"
python3 -c '
import os, sys
d = sys.argv[1]
for i in range(70000): os.link(d + "/target", "%s/l%05d" % (d, i))' "$WORK/dir70k/d"
limits_mount "$WORK/dir70k"
expect_warning "d/l00000: 70001 hard links, more than ext4's 65000 per inode; its names are split over 2 inodes"
check_split "$WORK/k/d" 70001 "640 1234 5678 1500000000 6"
limits_unmount
expect_strict "$WORK/dir70k" "ext4 cannot hold d/l00000: 70001 hard links"
umount "$WORK/dir70k"
echo "ok: directory with 70,001 names of one file ($((SECONDS - t0)) s)"

# ---------------------------------------------------------------- 65,001 subdirectories
# dir_nlink: a directory with more than 65,000 subdirectories has link count 1; nothing is changed or warned.
t0=$SECONDS
python3 - "$WORK/dirs.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    for i in range(65001):
        ti = tarfile.TarInfo('many/d%05d' % i); ti.type = tarfile.DIRTYPE; ti.mode = 0o755; ti.mtime = 1600000000
        t.addfile(ti)
PY
limits_mount "$WORK/dirs.tar"
[ -z "$WARN" ] || die "65,001 subdirectories warned: $WARN"
[ "$(stat -c %h "$WORK/k/many")" = 1 ] || die "many/ has link count $(stat -c %h "$WORK/k/many"), expected 1 (dir_nlink)"
[ "$(find "$WORK/k/many" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 65001 ] || die "many/ does not hold 65,001 directories"
limits_unmount
echo "ok: 65,001 subdirectories, link count 1 ($((SECONDS - t0)) s)"

# check_edge_and_fat DIR: DIR/edge is 16 TiB - 4 KiB with 4096 bytes of
# data just below its last block; DIR/fat kept user.small, not user.big.
check_edge_and_fat() {
    [ "$(stat -c %s "$1/edge")" = 17592186040320 ] || die "edge's size is $(stat -c %s "$1/edge")"
    python3 - "$1/edge" <<'PY' || die "edge's data below 16 TiB - 4 KiB reads wrong"
import sys
with open(sys.argv[1], 'rb') as f:
    f.seek((1 << 44) - 8192)
    assert f.read() == bytes(range(256)) * 16
PY
    [ "$(getfattr --only-values -n user.small "$1/fat" 2>/dev/null)" = s ] || die "fat lost user.small"
    ! getfattr -n user.big "$1/fat" >/dev/null 2>&1 || die "fat has user.big"
}

# ---------------------------------------------------------------- names, targets, sizes, xattrs
# Each limit with a neighbour just inside it (kept) and one beyond it (left out, warned).
t0=$SECONDS
cat >"$WORK/limits.py" <<'PY'
import io, sys, tarfile
out, only = sys.argv[1], sys.argv[2]
TB16 = 1 << 44
def add(t, name, data=b'', **kw):
    ti = tarfile.TarInfo(name); ti.mtime = 1600000000
    for k, v in kw.items(): setattr(ti, k, v)
    ti.size = len(data) if ti.type == tarfile.REGTYPE else 0
    t.addfile(ti, io.BytesIO(data) if data else None)
def sparse(t, name, realsize):
    # pax sparse 1.0: the map (1 segment: the last 4096 bytes below 16 TiB - 4 KiB) heads the data.
    tail = bytes(range(256)) * 16
    at = (TB16 - 4096) - 4096
    head = ('1\n%d\n%d\n' % (at, len(tail))).encode().ljust(512, b'\0')
    ti = tarfile.TarInfo('GNUSparseFile.0/' + name); ti.mtime = 1600000000
    ti.pax_headers = {'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': name,
                      'GNU.sparse.realsize': str(realsize)}
    ti.size = len(head) + len(tail)
    t.addfile(ti, io.BytesIO(head + tail))
with tarfile.open(out, 'w', format=tarfile.PAX_FORMAT) as t:
    add(t, 'keep', b'keep\n')
    if only in ('all', 'name'):
        add(t, 'n/' + 'k' * 255, b'255\n')
        add(t, 'n/' + 'x' * 300, b'300\n')
    if only in ('all', 'symlink'):
        add(t, 'link4095', type=tarfile.SYMTYPE, linkname='/' + 'a' * 4094)
        add(t, 'link5000', type=tarfile.SYMTYPE, linkname='/' + 'b' * 4999)
    if only in ('all', 'size'):
        sparse(t, 'edge', TB16 - 4096)
        sparse(t, 'huge', TB16)
    if only in ('all', 'xattr'):
        ti = tarfile.TarInfo('fat'); ti.mtime = 1600000000; ti.size = 4
        ti.pax_headers = {'SCHILY.xattr.user.big': 'v' * 5000, 'SCHILY.xattr.user.small': 's'}
        t.addfile(ti, io.BytesIO(b'fat\n'))
PY
for only in all name symlink size xattr; do python3 "$WORK/limits.py" "$WORK/limits-$only.tar" "$only"; done
limits_mount "$WORK/limits-all.tar"
x300=$(printf 'x%.0s' $(seq 300))
expect_warning "skipped 1 entry that could not be read (use --strict to fail instead):"
expect_warning "  n/$x300: a name longer than 255 bytes (header at offset"
expect_warning "3 entries of the source exceed ext4's limits (use --strict to fail instead):"
expect_warning "  link5000: a symlink target of 5000 bytes, more than ext4's 4095; left out"
expect_warning "  huge: a file of 17592186044416 bytes, more than ext4's 17592186040320 (16 TiB - 4 KiB); left out"
expect_warning "  fat: 1 of its extended attributes: 'user.big' (a value of 5000 bytes: it fits neither the inode nor one 4 KiB block beside the others); those are left out, the entry kept"
k=$WORK/k
expect_listing "d . d ./n f ./edge f ./fat f ./keep f ./n/$(printf 'k%.0s' $(seq 255)) l ./link4095 "
[ "$(cat "$k/keep")" = keep ] && [ "$(cat "$k/n/"k*)" = 255 ] || die "kept files read wrong"
[ "$(readlink "$k/link4095")" = "/$(printf 'a%.0s' $(seq 4094))" ] || die "link4095's target is wrong"
check_edge_and_fat "$k"
[ "$(stat -c '%Y %a %U' "$k/keep" "$k/edge")" = "1600000000 644 root
1600000000 644 root" ] || die "times, modes or owners differ: $(stat -c '%Y %a %U' "$k/keep" "$k/edge")"
limits_unmount
expect_strict "$WORK/limits-name.tar" "a name longer than 255 bytes (header at offset 3072) (without --strict it is skipped)"
expect_strict "$WORK/limits-symlink.tar" "ext4 cannot hold link5000: a symlink target of 5000 bytes, more than ext4's 4095 (without --strict: left out)"
expect_strict "$WORK/limits-size.tar" "ext4 cannot hold huge: a file of 17592186044416 bytes, more than ext4's 17592186040320 (16 TiB - 4 KiB) (without --strict: left out)"
expect_strict "$WORK/limits-xattr.tar" "ext4 cannot hold fat: 1 of its extended attributes: 'user.big' (a value of 5000 bytes: it fits neither the inode nor one 4 KiB block beside the others) (without --strict: those are left out, the entry kept)"
echo "ok: names, symlink targets, file sizes and xattrs beyond ext4 ($((SECONDS - t0)) s)"

# ---------------------------------------------------------------- sizes and xattrs, from a directory
# XFS holds files up to 8 EiB and xattr values up to 64 KiB: a directory can
# bring both (ext4, where the work folder usually is, cannot).
t0=$SECONDS
truncate -s 300M "$WORK/xfs.img"
mkfs.xfs -q "$WORK/xfs.img"
mkdir "$WORK/xfs"
mount -o loop "$WORK/xfs.img" "$WORK/xfs"
CLEANUP_MOUNTS+=("$WORK/xfs")
mkdir "$WORK/xfs/src"
python3 - "$WORK/xfs/src" <<'PY'
import os, sys
d = sys.argv[1]
for name, size in (('edge', (1 << 44) - 4096), ('huge', (1 << 44) + 4096)):
    with open(os.path.join(d, name), 'wb') as f:
        f.truncate(size)
        f.seek((1 << 44) - 8192)
        f.write(bytes(range(256)) * 16)
with open(os.path.join(d, 'fat'), 'w') as f:
    f.write('fat\n')
os.setxattr(os.path.join(d, 'fat'), 'user.big', b'v' * 5000)
os.setxattr(os.path.join(d, 'fat'), 'user.small', b's')
PY
limits_mount "$WORK/xfs/src"
expect_warning "2 entries of the source exceed ext4's limits (use --strict to fail instead):"
expect_warning "  huge: a file of 17592186048512 bytes, more than ext4's 17592186040320 (16 TiB - 4 KiB); left out"
expect_warning "  fat: 1 of its extended attributes: 'user.big' (a value of 5000 bytes: it fits neither the inode nor one 4 KiB block beside the others); those are left out, the entry kept"
expect_listing "d . f ./edge f ./fat "
check_edge_and_fat "$k"
limits_unmount
expect_strict "$WORK/xfs/src" "ext4 cannot hold huge: a file of 17592186048512 bytes, more than ext4's 17592186040320 (16 TiB - 4 KiB) (without --strict: left out)"
umount "$WORK/xfs"
echo "ok: a file over 16 TiB - 4 KiB and xattrs beyond ext4, from a directory on XFS ($((SECONDS - t0)) s)"

# ---------------------------------------------------------------- times of 2310..2378, device numbers beyond ext4
# ext4 stores a time of 2310-04-04 .. 2378-04-22 as the kernel does (base
# bit 31 set, epoch bits 3), but e2fsck (before 2242) takes it for a
# mis-encoded pre-1970 time and would "fix" it, even when preening at boot:
# such a time is stored as the nearest one e2fsck accepts, with a warning.
# A device number beyond major 4095 or minor 1048575 (Linux's dev_t) is
# left out; the largest that fits is kept.
t0=$SECONDS
python3 - "$WORK/times-devs.tar" "$WORK/times.tar" "$WORK/devs.tar" <<'PY'
import io, sys, tarfile
def late(t):  # 2350-01-01 00:00:00 UTC: epoch 3 with bit 31 set; its atime too
    ti = tarfile.TarInfo('late'); ti.size = 5; ti.mtime = 11991628800
    ti.pax_headers = {'atime': '11991628800.25'}
    t.addfile(ti, io.BytesIO(b'late\n'))
def ok(t):  # 2400-01-01: epoch 3 without bit 31, e2fsck takes it as it is
    ti = tarfile.TarInfo('ok'); ti.size = 3; ti.mtime = 13569465600
    t.addfile(ti, io.BytesIO(b'ok\n'))
def devs(t):
    for name, major, minor in (('dev-major', 5000, 1), ('dev-minor', 1, 1 << 20), ('dev-max', 4095, (1 << 20) - 1)):
        ti = tarfile.TarInfo(name); ti.type = tarfile.CHRTYPE; ti.devmajor = major; ti.devminor = minor
        ti.mtime = 1600000000
        t.addfile(ti)
for path, parts in ((sys.argv[1], (late, ok, devs)), (sys.argv[2], (late,)), (sys.argv[3], (devs,))):
    with tarfile.open(path, 'w', format=tarfile.PAX_FORMAT) as t:
        for part in parts:
            part(t)
PY
limits_mount "$WORK/times-devs.tar"
late_problem="a time in 2310-04-04 16:10:40 .. 2378-04-22 19:24:48 UTC, which ext4 encodes as the kernel does but e2fsck (before 2242) takes for a mis-encoded pre-1970 time and would change"
expect_warning "3 entries of the source exceed ext4's limits (use --strict to fail instead):"
expect_warning "  late: $late_problem; stored as the nearest time e2fsck accepts: atime 2350-01-01 00:00:00.250000000 UTC as 2378-04-22 19:24:48 UTC, mtime 2350-01-01 00:00:00 UTC as 2378-04-22 19:24:48 UTC"
expect_warning "  dev-major: a device number 5000:1, beyond ext4's (Linux's) 4095:1048575; left out"
expect_warning "  dev-minor: a device number 1:1048576, beyond ext4's (Linux's) 4095:1048575; left out"
expect_listing "c ./dev-max d . f ./late f ./ok "
[ "$(stat -c '%X %Y' "$k/late")" = "12884901888 12884901888" ] || die "late's times: $(stat -c '%X %Y' "$k/late")"
[ "$(stat -c '%Y' "$k/ok")" = 13569465600 ] || die "ok's mtime: $(stat -c '%Y' "$k/ok")"
[ "$(stat -c '%t:%T' "$k/dev-max")" = "fff:fffff" ] || die "dev-max's number: $(stat -c '%t:%T' "$k/dev-max")"
[ "$(cat "$k/late")" = late ] || die "late reads wrong"
limits_unmount
expect_strict "$WORK/times.tar" "ext4 cannot hold late: $late_problem (without --strict: stored as the nearest time e2fsck accepts: atime"
expect_strict "$WORK/devs.tar" "ext4 cannot hold dev-major: a device number 5000:1, beyond ext4's (Linux's) 4095:1048575 (without --strict: left out)"
echo "ok: times e2fsck takes for pre-1970 ones and device numbers beyond ext4 ($((SECONDS - t0)) s)"
echo "PASS: ext4_limits"
