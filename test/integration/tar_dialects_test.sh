#!/bin/bash
# Tar archives of every dialect both GNU tar and bsdtar extract, judged
# against their extraction (issue 14): bsdtar pax archives with base-256
# times in 11 bytes and a space, V7 directories (a name ending in '/' with
# typeflag NUL, '0' or '7' and a size but no data), octal fields ending in
# space, NUL or nothing, base-256 numbers of several widths, header fields
# that pax records override and that are garbage, types that carry no data
# whatever their size, an unknown type, times from 1901-12-13 to 2446-05-10
# (and beyond, clamped as the kernel clamps them on extraction), GNU tar
# --acls and bsdtar --acls --xattrs archives (SCHILY.acl.*, LIBARCHIVE.xattr.*),
# a Solaris sparse file (SUN.holesdata).
# Each archive is mounted; the partition must pass e2fsck -fn; the kernel's
# ext4 view must equal `tar -x` and `bsdtar -x` (treetool compare: content,
# type, mode, owners, mtime to the nanosecond, link targets, devices; and
# xattrs with ACLs, and hard-link groups). Where the two extractions differ,
# the case says which one vdiskfs follows, and the difference is asserted.
source "$(dirname "$0")/lib.sh"
require_root
for t in "bsdtar libarchive-tools" "tar tar" "python3 python3" "getfattr attr" "setfattr attr" "setfacl acl" \
         "e2fsck e2fsprogs" "partx util-linux" "losetup mount" "fusermount3 fuse3" \
         "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
mkdir "$WORK/mnt" "$WORK/kernel"
ARCHIVES=$WORK/archives
mkdir "$ARCHIVES"

# settime PATH 'DATE': mtime (and atime) of PATH, symlinks not followed.
settime() { TZ=UTC touch -h -d "$2" "$1"; }

# ------------------------------------------------------------ the archives
# bsdtar pax (issue 14's first input): times before 1968-11 and after 2242
# get a pax record and, in the header, base-256 in 11 bytes and a space.
tree=$WORK/times
mkdir -p "$tree/sub"
echo old >"$tree/old"; settime "$tree/old" '1960-01-01 00:00:00.5 UTC'
echo m1 >"$tree/minus1"; settime "$tree/minus1" '1969-12-31 23:59:59 UTC'
echo future >"$tree/future"; touch -d '@9000000000' "$tree/future"
echo first >"$tree/sub/first"; settime "$tree/sub/first" '1901-12-14 00:00:00.123456789 UTC'
echo last >"$tree/sub/last"; settime "$tree/sub/last" '2446-05-01 12:00:00.987654321 UTC'
echo ns >"$tree/sub/ns"; settime "$tree/sub/ns" '2300-01-01 00:00:00.000000001 UTC'
ln -s old "$tree/sub/link"; settime "$tree/sub/link" '1950-06-01 00:00:00 UTC'
settime "$tree/sub" '2400-02-29 00:00:00.5 UTC'
settime "$tree" '2000-01-01 00:00:00 UTC'
bsdtar -C "$tree" --format=pax -cf "$ARCHIVES/bsdtar-pax-old.tar" old minus1
bsdtar -C "$tree" --format=pax -cf "$ARCHIVES/bsdtar-pax-future.tar" future
# Members named one by one: bsdtar writes "." as ./, ./sub/, then the files
# of ., then those of sub, and GNU tar, which sets a directory's time once a
# member outside it comes, leaves sub with the time of the extraction.
bsdtar -C "$tree" --format=pax -cf "$ARCHIVES/bsdtar-pax-ends.tar" sub old minus1 future
# bsdtar's GNU format clamps the same times into its octal fields.
bsdtar -C "$tree" --format=gnutar -cf "$ARCHIVES/bsdtar-gnutar.tar" sub old minus1 future
# GNU tar: base-256 times (gnu) and pax records (posix) for the same tree.
tar -C "$tree" --format=gnu -cf "$ARCHIVES/gnutar-gnu.tar" .
tar -C "$tree" --format=posix -cf "$ARCHIVES/gnutar-posix.tar" .

# The header walk must see what the archives are named after.
python3 - "$ARCHIVES/bsdtar-pax-old.tar" <<'PY' || die "bsdtar-pax-old.tar does not hold a base-256 mtime of 11 bytes and a space"
import sys
d = open(sys.argv[1], "rb").read()
h = d[1024:1536]  # the member header after the pax header
assert h[136] == 0xff and h[147] == 0x20, h[136:148].hex()
PY

# Crafted archives: test/tools/tar_craft.py writes headers field by field.
PYTHONPATH=$TESTS_DIR/../tools PYTHONDONTWRITEBYTECODE=1 python3 - "$ARCHIVES" <<'PY' || die "cannot write the crafted archives"
import sys
import tar_craft
from tar_craft import USTAR, b256, header, pad, pax
def write(name, blocks): tar_craft.write(f"{sys.argv[1]}/{name}", blocks)
data = b"inside dir2\n"
# Issue 14's second input, and its siblings: V7 directories with a size and no data.
write("v7-dirs.tar", [header("dir1/", 1, b"\0", mode=b"%07o\0" % 0o755), header("dir2/", 0, b"\0", mode=b"%07o\0" % 0o755),
                      header("dir2/file", len(data)), pad(data)])
# (Each directory with its files: GNU tar sets a directory's time once a
# member outside it comes, and a later file inside would move it.)
write("v7-dir-sizes.tar", [header("a/", 700, b"0", mode=b"%07o\0" % 0o750), header("a/f", 3), pad(b"aaa"),
                           header("b/", 5000, b"\0", mode=b"%07o\0" % 0o700), header("b/g", 0),
                           header("c/", 3, b"7", mode=b"%07o\0" % 0o711, magic=USTAR), header("c/h", 1), pad(b"h")])
# Numeric fields: octal ended by space, NUL, space+NUL or nothing, leading
# spaces, base-256 of 8 and 12 bytes (size, uid, gid, mtime), times at both
# ends of ext4's range and beyond it.
write("numeric.tar", [
    header("space", 1, mode=b"000644 \0", uid=b"001750 \0", mtime=b"%011o " % 1262304001), pad(b"s"),
    header("nul", 1, mode=b"0000644\0", mtime=b"%011o\0" % 1262304002), pad(b"n"),
    header("none", 1, mode=b"00000644", uid=b"00001750", sizef=b"%012o" % 1, mtime=b"%012o" % 1262304003), pad(b"x"),
    header("spaces", 1, mode=b"    644 ", uid=b"   1750 ", mtime=b"   %08o " % 100), pad(b"p"),
    header("b256-size", 0, sizef=b256(3, 12)), pad(b"xyz"),
    header("b256-ids", 0, uid=b256(3906250, 8), gid=b256(4000000000, 8)),
    header("b256-1901", 0, mtime=b256(-(1 << 31) + 86400, 12)),
    header("b256-2446", 0, mtime=b256((1 << 34) - (1 << 31) - 86400, 12)),
    header("b256-before-1901", 0, mtime=b256(-(1 << 40), 12)),
    header("b256-after-2446", 0, mtime=b256(1 << 40, 12)),
    header("b256-negative", 0, mtime=b256(-100, 12)),
])
# Header fields a pax record overrides are garbage: neither tar reads them.
# (Not the size: GNU tar walks the archive by the header's size field and
# calls one that is not a number "not a tar archive"; bsdtar and vdiskfs
# take the pax size. Here it is a valid number that the record overrides.)
write("pax-overrides.tar", [
    pax([(b"mtime", b"1500000000.25"), (b"size", b"4"), (b"uid", b"77"), (b"gid", b"88")]),
    header("overridden", 0, uid=b"nonsense", gid=b"\xff\x00garbag", sizef=b"%011o\0" % 700, mtime=b"not a time!!", magic=USTAR),
    pad(b"four"),
    pax([(b"mtime", b"16000000000.5"), (b"atime", b"-5000000000")]),   # 2477 and 1811: clamped on ext4
    header("beyond", 2, mtime=b"garbage!!!!!", magic=USTAR), pad(b"bb"),
])
# Types that carry no data whatever the size says; an unknown type is a file.
write("types.tar", [
    header("target", 2, magic=USTAR), pad(b"tt"),
    header("sym", 7, b"2", magic=USTAR, link=b"target"),
    header("fifo", 512, b"6", magic=USTAR),
    header("dir", 100, b"5", mode=b"%07o\0" % 0o755, magic=USTAR),
    header("hard", 0, b"1", magic=USTAR, link=b"target"),
    header("weird", 3, b"Q", magic=USTAR), pad(b"qqq"),
    header("after", 1, magic=USTAR), pad(b"a"),
])
# Solaris pax sparse file: SUN.holesdata lists where holes and data
# alternate (a hole first); the data blocks hold the whole file. bsdtar
# keeps the holes, GNU tar ignores the record and writes the zeros.
holey = bytearray(5 * 65536)
holey[65536:65536 + 5] = b"hello"
holey[4 * 65536 - 3:4 * 65536] = b"end"
write("sun-holes.tar", [pax([(b"SUN.holesdata", b" 65536 131072 196608 262144 327680 327680")]),
                        header("holey", len(holey), magic=USTAR), pad(bytes(holey)),
                        header("after", 2, magic=USTAR), pad(b"ok")])
# Owners that do not fit 32 bits (uid 2^32 cut to 32 bits is root) or are
# negative: GNU tar refuses them; vdiskfs leaves the member out.
write("wide-ids.tar", [pax([(b"uid", b"4294967296")]), header("root-if-cut", 2, magic=USTAR), pad(b"no"),
                       header("negative-gid", 0, gid=b256(-1, 8)),
                       header("kept", 2, magic=USTAR), pad(b"ok")])
PY

# ACLs and xattrs: tar --acls (text ACLs, names, one entry a line) and
# bsdtar --acls --xattrs (text ACLs with ids; LIBARCHIVE.xattr.* records).
acl=$WORK/acl
mkdir -p "$acl/d"
echo acl >"$acl/d/f"
setfacl -m u:1000:rwx,g:daemon:r-x "$acl/d/f"
setfacl -d -m u:1000:rwx,g:1:r-x "$acl/d"
setfacl -m u:1000:r-x "$acl/d"
setfattr -n user.plain -v hello "$acl/d/f"
setfattr -n trusted.binary -v 0sAP8BAg== "$acl/d/f"
ln "$acl/d/f" "$acl/d/f-link"
tar --format=posix --acls -C "$acl" -cf "$ARCHIVES/gnutar-acls.tar" d
bsdtar --acls --xattrs -C "$acl" -cf "$ARCHIVES/bsdtar-acls-xattrs.tar" d
grep -q SCHILY.acl.access "$ARCHIVES/gnutar-acls.tar" || die "tar --acls wrote no SCHILY.acl.access record"
grep -q LIBARCHIVE.xattr.user.plain "$ARCHIVES/bsdtar-acls-xattrs.tar" || die "bsdtar wrote no LIBARCHIVE.xattr record"

# ------------------------------------------------------------ the judging
# xattrs_dump DIR: every entry's xattrs (ACLs included) by path, sorted.
xattrs_dump() { (cd "$1" && find . -path ./lost+found -prune -o -print | sort | xargs -d '\n' getfattr -h -d -m - --absolute-names -e base64 2>/dev/null); }
# links_dump DIR: the groups of paths that share an inode (hard links).
links_dump() {
    python3 - "$1" <<'PY'
import os, sys
groups = {}
for top, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if not (top == sys.argv[1] and d == "lost+found")]
    for n in files:
        p = os.path.join(top, n)
        st = os.lstat(p)
        if st.st_nlink > 1:
            groups.setdefault(st.st_ino, []).append(os.path.relpath(p, sys.argv[1]))
for g in sorted(sorted(v) for v in groups.values()):
    print(" ".join(g))
PY
}

# holes_dump DIR: the regular files with fewer blocks than their size.
holes_dump() {
    (cd "$1" && find . -path ./lost+found -prune -o -type f -printf '%p %s %b\n' | sort |
        awk '$3 * 512 < $2 { print $1 }')
}

# extract ARCHIVE TOOL DIR: TOOL (tar or bsdtar) extracts ARCHIVE as root
# keeping numeric owners, modes, xattrs and ACLs. The top folder gets what
# vdiskfs gives a root the archive never names (README: root-owned 0755,
# the archive's mtime), unless the archive names "." itself.
extract() {
    local archive=$1 tool=$2 dir=$3 err
    mkdir -p "$dir"
    if [ "$tool" = tar ]; then
        local rc=0
        err=$(tar -C "$dir" -xpf "$archive" --numeric-owner --same-owner --xattrs --xattrs-include='*' --acls 2>&1) || rc=$?
        # GNU tar reports each overridden header field it cannot parse,
        # exits 2, and extracts the member from its pax records.
        case $rc:$(basename "$archive") in
        0:* | 2:pax-overrides.tar) ;;
        *) die "tar -x $archive failed (exit $rc): $err" ;;
        esac
    else
        # GNU tar's text ACLs name users without ids: bsdtar --numeric-owner
        # cannot set them (EINVAL), so it resolves names here, as tar -x does.
        local numeric=--numeric-owner
        [ "$(basename "$archive")" != gnutar-acls.tar ] || numeric=
        err=$(bsdtar -C "$dir" -xpf "$archive" $numeric --acls --xattrs 2>&1) ||
            die "bsdtar -x $archive failed: $err"
    fi
    local listing
    listing=$(tar -tf "$archive" 2>/dev/null) || true
    if ! grep -qx '\./\?' <<<"$listing"; then
        chown 0:0 "$dir" && chmod 0755 "$dir" && touch -r "$archive" "$dir"
    fi
}

# judge ARCHIVE [EXPECTED_BSDTAR_DIFF...]: mounts ARCHIVE, fsck, kernel
# mount, compares with both extractions. With more arguments, bsdtar's
# extraction must differ from the disk in exactly those treetool lines.
judge() {
    local archive=$1 bsd_diff=${2:-} name out dev line
    shift
    name=$(basename "$archive" .tar)
    local t0=$SECONDS
    extract "$archive" tar "$WORK/x-tar/$name"
    extract "$archive" bsdtar "$WORK/x-bsd/$name"
    # bsdtar never sets the time of the folder it extracts into, even when
    # the archive names "./": the root's time is judged against tar -x.
    touch -r "$WORK/x-tar/$name" "$WORK/x-bsd/$name"
    mount_fg "$archive" "$WORK/mnt" --read-only
    dev=$(attach_partition "$WORK/mnt/$name.img")
    expect_clean_fsck "$dev"
    mount -t ext4 -o ro "$dev" "$WORK/kernel"
    CLEANUP_MOUNTS+=("$WORK/kernel")
    out=$("$TREETOOL" compare "$WORK/x-tar/$name" "$WORK/kernel" --ignore lost+found 2>&1) ||
        die "$name: the disk differs from tar -x: $out"
    local rc=0
    out=$("$TREETOOL" compare "$WORK/x-bsd/$name" "$WORK/kernel" --ignore lost+found 2>&1) || rc=$?
    if [ -z "$bsd_diff" ]; then
        [ $rc -eq 0 ] || die "$name: the disk differs from bsdtar -x: $out"
    else
        for line in "$@"; do
            grep -qxF -- "$line" <<<"$out" || die "$name: expected bsdtar -x to differ in '$line'; treetool said: $out"
        done
        grep -q ", $# differences" <<<"$out" || die "$name: bsdtar -x differs in more than '$*': $out"
    fi
    [ "$(xattrs_dump "$WORK/x-tar/$name")" = "$(xattrs_dump "$WORK/kernel")" ] ||
        die "$name: xattrs/ACLs differ from tar -x: $(diff <(xattrs_dump "$WORK/x-tar/$name") <(xattrs_dump "$WORK/kernel"))"
    [ "$(links_dump "$WORK/x-tar/$name")" = "$(links_dump "$WORK/kernel")" ] ||
        die "$name: hard links differ from tar -x: $(diff <(links_dump "$WORK/x-tar/$name") <(links_dump "$WORK/kernel"))"
    [ "$(links_dump "$WORK/x-bsd/$name")" = "$(links_dump "$WORK/kernel")" ] ||
        die "$name: hard links differ from bsdtar -x"
    # Holes: where bsdtar's extraction has them (sparse records), the disk too.
    [ "$(holes_dump "$WORK/x-bsd/$name")" = "$(holes_dump "$WORK/kernel")" ] ||
        die "$name: sparse files differ from bsdtar -x: $(diff <(holes_dump "$WORK/x-bsd/$name") <(holes_dump "$WORK/kernel"))"
    umount "$WORK/kernel"
    detach "$dev"
    unmount_fg "$WORK/mnt"
    local but=""
    [ -z "$bsd_diff" ] || but=" (bsdtar -x but for: $*)"
    echo "ok: $name equals tar -x and bsdtar -x$but ($((SECONDS - t0)) s)"
}

# bsdtar writes 1960-01-01 00:00:00.5 as "mtime=-315619200.5" and reads it
# back as -315619200 s + 0.5 s; POSIX defines the value as a decimal number
# of seconds, -315619200.5 s, and GNU tar reads it so. vdiskfs follows POSIX
# and GNU tar (one reading for every writer; GNU tar's own archives say
# "-315619199.5") and warns; bsdtar's extraction is 1 s later.
judge "$ARCHIVES/bsdtar-pax-old.tar" "DIFF old: mtime src=-315619200.500000000 dst=-315619201.500000000"
judge "$ARCHIVES/bsdtar-pax-future.tar"
judge "$ARCHIVES/bsdtar-pax-ends.tar" "DIFF old: mtime src=-315619200.500000000 dst=-315619201.500000000" \
    "DIFF sub/first: mtime src=-2147472000.123456789 dst=-2147472001.876543211"
judge "$ARCHIVES/bsdtar-gnutar.tar"
judge "$ARCHIVES/gnutar-gnu.tar"
# GNU tar writes "-315619199.5", which bsdtar reads as 1 s later than meant.
judge "$ARCHIVES/gnutar-posix.tar" "DIFF old: mtime src=-315619199.500000000 dst=-315619200.500000000" \
    "DIFF sub/first: mtime src=-2147471999.876543211 dst=-2147472000.123456789"
judge "$ARCHIVES/v7-dirs.tar"
judge "$ARCHIVES/v7-dir-sizes.tar"
judge "$ARCHIVES/numeric.tar"
judge "$ARCHIVES/pax-overrides.tar"
judge "$ARCHIVES/types.tar"
judge "$ARCHIVES/sun-holes.tar"
judge "$ARCHIVES/gnutar-acls.tar"
judge "$ARCHIVES/bsdtar-acls-xattrs.tar"

# The warnings name the member and say what was done.
for w in "bsdtar-pax-old.tar: member old: pax mtime=-315619200.5 (header at offset 1024) is read as POSIX defines it and GNU tar extracts it, 1959-12-31 23:59:59.500000000 UTC; bsdtar extracts it 1 s later" \
         "types.tar: member weird: unknown tar entry type 'Q' at offset 3072: read as a regular file, as GNU tar and bsdtar extract it"; do
    grep -qF -- "$w" "$WORK/vdiskfs.log" || die "no warning '$w' in the log: $(cat "$WORK/vdiskfs.log")"
done
echo "warnings: as expected"

# Owners beyond 32 bits or negative: the member is left out with a warning
# naming it and the field; --strict refuses the archive (exit status 1).
log_mark
mount_fg "$ARCHIVES/wide-ids.tar" "$WORK/mnt" --read-only
dev=$(attach_partition "$WORK/mnt/wide-ids.img")
mount -t ext4 -o ro "$dev" "$WORK/kernel"
CLEANUP_MOUNTS+=("$WORK/kernel")
[ "$(ls "$WORK/kernel" | grep -v lost+found | tr '\n' ' ')" = "kept " ] ||
    die "wide-ids.tar: the disk holds $(ls "$WORK/kernel"); expected only 'kept'"
umount "$WORK/kernel"
detach "$dev"
unmount_fg "$WORK/mnt"
for w in "root-if-cut: pax uid=4294967296 (header at offset 1024) does not fit 32 bits (cut to fit it would be 0)" \
         "negative-gid: gid field -1 (header at offset 2048) is negative"; do
    log_since | grep -qF -- "$w" || die "no warning '$w' in the log: $(log_since)"
done
expect_status "$EXIT_REFUSED" "member root-if-cut: pax uid=4294967296" \
    "$VDISKFS" mount --read-only --strict "$ARCHIVES/wide-ids.tar" "$WORK/mnt"
# Under --strict a warning refuses the archive too.
expect_status "$EXIT_REFUSED" "member weird: unknown tar entry type 'Q' at offset 3072" \
    "$VDISKFS" mount --read-only --strict "$ARCHIVES/types.tar" "$WORK/mnt"
mountpoint -q "$WORK/mnt" && die "a --strict mount that was refused left $WORK/mnt mounted"
echo "ids beyond 32 bits and --strict warnings: as expected"
echo "PASS tar_dialects_test"
