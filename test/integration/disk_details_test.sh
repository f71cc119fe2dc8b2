#!/bin/bash
# Details the README promises about the disk, each checked cheaply on a
# small source: the ext4 feature set, block and inode size; atime, ctime and
# crtime to the nanosecond through the kernel and debugfs (crtime is the
# source's birth time, or its ctime where there is none, as from a tar); a
# lost+found of the source kept; the default free space (--min-free 256M for
# a small source, 20% of data + metadata past 1.28 GiB); the VMDK's
# redundant grain directory and roomy descriptor and the VDI's data offset
# (test/tools/container_headers.py, which is shown to catch broken copies);
# no VHD files for a disk above 2040 GiB, with the log line.
source "$(dirname "$0")/lib.sh"
require_root
for t in "dumpe2fs e2fsprogs" "debugfs e2fsprogs" "e2fsck e2fsprogs" "partx util-linux" "losetup mount" \
         "qemu-img qemu-utils" "jq jq" "tar tar" "python3 python3" "getfattr attr" "setfattr attr" "fusermount3 fuse3" \
         "$VDISKFS vdiskfs(build)"; do
    require $t
done
HEADERS=$TESTS_DIR/../tools/container_headers.py
[ -f "$HEADERS" ] || die "$HEADERS is missing"
export TZ=UTC
make_work
M=$WORK/mnt K=$WORK/kernel LOG=$WORK/vdiskfs.log
mkdir "$M" "$K"
: >"$LOG"

# The small source: a file and a directory with known atimes, and a
# lost+found of its own (0700, not root's, with a file in it).
S=$WORK/s
mkdir -p "$S/d" "$S/lost+found"
echo "a file" >"$S/f"
random_bytes 300000 >"$S/d/data"  # a few grains and VDI blocks of data
echo "kept by the source" >"$S/lost+found/kept"
chmod 0700 "$S/lost+found"
chown 1234:5678 "$S/lost+found" "$S/lost+found/kept"
touch -a -d '2001-02-03 04:05:06.123456789' "$S/f"
touch -m -d '2002-03-04 05:06:07.987654321' "$S/f"
touch -a -d '1999-12-31 23:59:59.000000001' "$S/d"
touch -m -d '2003-04-05 06:07:08.5' "$S/d"
touch -a -d '2005-06-07 08:09:10.010203040' "$S/lost+found"
t0=$(date +%s%N)
mount_fg "$S" "$M" --read-only
IMG=$M/s.img

# 1. ext4 features: exactly the README's (extents, flex_bg, sparse_super,
#    huge_file, dir_nlink, extra_isize, no journal) plus the two mke2fs
#    always sets (filetype, large_file); ext_attr only with xattrs (section
#    6); no 64bit, no metadata_csum. 4 KiB blocks, 256-byte inodes.
kernel_mount "$IMG" "$K" noatime
features=$(sb_field "Filesystem features")
[ "$features" = "filetype extent flex_bg sparse_super large_file huge_file dir_nlink extra_isize" ] ||
    die "ext4 features: '$features'"
for f in extent flex_bg sparse_super huge_file dir_nlink extra_isize; do
    grep -qw -- "$f" <<<"$features" || die "feature $f missing: $features"
done
for f in has_journal 64bit metadata_csum; do
    grep -qw -- "$f" <<<"$features" && die "feature $f set: $features"
done
[ "$(sb_field "Block size")" = 4096 ] || die "block size $(sb_field "Block size")"
[ "$(sb_field "Inode size")" = 256 ] || die "inode size $(sb_field "Inode size")"
[ "$(sb_field "Required extra isize")" = 32 ] || die "extra isize $(sb_field "Required extra isize")"
echo "ok: ext4 features: $features; 4096-byte blocks, 256-byte inodes"

# 2. Default free space of a small source: --min-free's 256 MiB (plus at
#    most the 1 MiB rounding and the 8 MiB a last block group needs).
free=$(sb_field "Free blocks")
((free >= 65536 && free <= 65536 + 256 + 2048)) || die "a small source got $free free blocks, not 256 MiB"
echo "ok: default free space of a small source: $free blocks ($((free * 4096 / 1048576)) MiB)"
expect_clean_fsck "$KDEV"

# 3. Times through the kernel: atime, mtime, ctime and birth time equal the
#    source's to the nanosecond; crtime is the source's birth time (statx
#    btime; its ctime where the source filesystem has none). debugfs shows
#    the same raw fields (seconds : nanoseconds << 2 | epoch bits).
# raw_time SECONDS.NANOSECONDS: debugfs's form, for times of 1970..2038.
raw_time() { printf '0x%08x:%08x' "${1%.*}" $((10#${1#*.} << 2)); }
for p in f d lost+found lost+found/kept; do
    want=$(stat -c '%x|%y|%z|%w' "$S/$p")
    btime=%W
    [ "$(stat -c %w "$S/$p")" = - ] && want=$(stat -c '%x|%y|%z|%z' "$S/$p") btime=%Z
    got=$(stat -c '%x|%y|%z|%w' "$K/$p")
    [ "$got" = "$want" ] || die "$p: times through the kernel '$got', source '$want' (atime|mtime|ctime|birth)"
    dbg=$(debugfs -R "stat /$p" "$KDEV" 2>/dev/null)
    for field in "atime:%X" "ctime:%Z" "crtime:$btime"; do
        raw=$(raw_time "$(stat -c "%.9${field#*%}" "$S/$p")")
        grep -qE "^ *${field%%:*}: $raw " <<<"$dbg" || die "$p: debugfs ${field%%:*} is not $raw: $(grep "${field%%:*}:" <<<"$dbg")"
    done
done
[[ "$(stat -c %x "$K/f")" == "2001-02-03 04:05:06.123456789 +0000" ]] || die "f: atime $(stat -c %x "$K/f")"
echo "ok: atime/mtime/ctime/crtime to the nanosecond, crtime = the source's $([ "$btime" = %W ] && echo birth time || echo ctime)"

# 4. The source's lost+found is the one on the disk: its mode, owner, time
#    and file, and no second one.
[ "$(stat -c '%a %u %g' "$K/lost+found")" = "700 1234 5678" ] || die "lost+found: $(stat -c '%a %u %g' "$K/lost+found")"
[ "$(ls -A "$K/lost+found")" = kept ] || die "lost+found holds: $(ls -A "$K/lost+found")"
[ "$(cat "$K/lost+found/kept")" = "kept by the source" ] || die "lost+found/kept differs"
[ "$(debugfs -R 'ls /' "$KDEV" 2>/dev/null | grep -o 'lost+found' | wc -l)" = 1 ] || die "not one lost+found in /"
echo "ok: the source's lost+found kept (0700, 1234:5678, with its file)"
kernel_unmount

# 5. VMDK: redundant grain directory, descriptor with room; VDI: data
#    offset on 1 MiB. Then copies with one violation each must be refused.
python3 "$HEADERS" vmdk "$M/s.vmdk" "$IMG" || die "the VMDK's headers"
python3 "$HEADERS" vdi "$M/s.vdi" "$IMG" || die "the VDI's headers"
# broken KIND FILE OFFSET BYTES PATTERN: a copy of FILE with BYTES (printf
# escapes) at OFFSET must be refused saying PATTERN.
broken() { broken_copy "$2" "$3" "$4" "$5" python3 "$HEADERS" "$1" "$WORK/copy" "$IMG"; }
le32() { od -An -tu4 -j "$2" -N 4 "$1" | tr -d ' '; }
le64() { od -An -tu8 -j "$2" -N 8 "$1" | tr -d ' '; }
gd=$(le64 "$M/s.vmdk" 56) rgd=$(le64 "$M/s.vmdk" 48) overhead=$(le64 "$M/s.vmdk" 64)
rgt0=$(le32 "$M/s.vmdk" $((rgd * 512)))
broken vmdk "$M/s.vmdk" 8 '\x01' "bit 1 (redundant grain table) not set"
# rgdOffset (8 bytes, little-endian) set to the whole of gdOffset.
broken vmdk "$M/s.vmdk" 48 "$(for ((i = 0; i < 64; i += 8)); do printf '\\x%02x' $((gd >> i & 255)); done)" "rgdOffset = gdOffset"
broken vmdk "$M/s.vmdk" $((rgt0 * 512 + 1)) '\x77' "differs from its redundant copy"
broken vmdk "$M/s.vmdk" 1000 'xxxxxxxx' "bytes after the text are not all zero"
broken vmdk "$M/s.vmdk" $((overhead * 512 + 100)) '\x55\xaa' "differs from the disk"
broken vdi "$M/s.vdi" 64 '\x00' "signature"
broken vdi "$M/s.vdi" $((0x158)) '\x00\x02\x10' "is not a multiple of 1 MiB"
broken vdi "$M/s.vdi" 512 '\xff\xff\xff\xff' "marked free"
echo "ok: container_headers.py refuses each broken copy"
unmount_fg "$M"

# 6. A tar of the same tree: no birth time there, so crtime is the ctime
#    (GNU tar's pax records keep atime and ctime with nanoseconds).
tar --format=posix --atime-preserve=system -C "$S" -cf "$WORK/s.tar" .
mount_fg "$WORK/s.tar" "$M" --read-only --formats img
kernel_mount "$IMG" "$K" noatime
for p in f d; do
    want=$(stat -c '%x|%y|%z|%z' "$S/$p")
    got=$(stat -c '%x|%y|%z|%w' "$K/$p")
    [ "$got" = "$want" ] || die "tar: $p: times '$got', expected '$want' (atime|mtime|ctime|crtime=ctime)"
done
kernel_unmount
unmount_fg "$M"
echo "ok: from a tar, crtime = ctime to the nanosecond"

# 7. The 20% rule: a tar whose one member holds 1.5 GiB of data (stored as
#    a hole of the archive: a member's bytes are data to vdiskfs, unlike a
#    sparse file's holes) gets 20% of data + metadata free, above 256 MiB.
python3 - "$WORK/big.tar" <<'EOF'
import sys, tarfile
size = 1536 << 20
member = tarfile.TarInfo("big.bin")
member.size, member.mtime, member.mode = size, 1700000000, 0o644
header = member.tobuf(format=tarfile.GNU_FORMAT)
with open(sys.argv[1], "wb") as f:
    f.write(header)
    f.seek(len(header) + size)
    f.write(bytes(10240))  # end-of-archive blocks
EOF
mount_fg "$WORK/big.tar" "$M" --read-only --formats img
blocks=$(image_sb_field "$M/big.img" "Block count") free=$(image_sb_field "$M/big.img" "Free blocks")
unmount_fg "$M"
used=$((blocks - free))
((free > 65536)) || die "1.5 GiB of data got $free free blocks, not more than --min-free"
((used >= 393216 && (5 * free - used) * 200 <= used && (used - 5 * free) * 200 <= used)) ||
    die "free $free blocks for $used used: not 20% (within 0.5%)"
info=$("$VDISKFS" info --json "$WORK/big.tar")
[ "$(jq .data_bytes <<<"$info")" = $((1536 << 20)) ] && [ "$(jq .ext4_free_blocks <<<"$info")" = "$free" ] ||
    die "vdiskfs info disagrees: $info"
echo "ok: default free space past 1.28 GiB: $free of $blocks blocks free, 20% of the $used used"

# 8. No VHD above 2040 GiB. A 2041 GiB sparse file fits the ext4 (16 TiB
#    limit) but its holes take no space, so --free makes the disk big:
#    2031G gives a disk just under the limit (VHD files, no log line),
#    2032G one just over (none, and a log line for each).
H=$WORK/h
mkdir "$H"
truncate -s 2041G "$H/huge"
setfattr -n user.note -v "over 2040 GiB" "$H/huge"
limit=$((2040 << 30))
for free_opt in 2031G 2032G; do
    log_mark
    mount_fg "$H" "$M" --read-only --free "$free_opt"
    size=$(stat -c %s "$M/h.img")
    log=$(log_since)
    warned=$(grep -c "exceeds VHD's limit of 2040 GiB" <<<"$log" || true)
    if [ "$free_opt" = 2031G ]; then
        ((size <= limit)) || die "--free $free_opt gives $size bytes: the test no longer straddles the limit"
        [ "$warned" = 0 ] || die "a VHD log line for a disk under the limit"
        for f in $(formats_json | jq -r --argjson limit "$limit" '.[] | select(.max_disk_bytes == $limit) | "h" + .suffixes[]'); do
            v=$(qemu-img info -f vpc --output=json "$M/$f" | jq '."virtual-size"')
            [ "$v" = "$size" ] || die "$f: virtual size $v, the disk is $size"
        done
        echo "ok: a $size-byte disk (under 2040 GiB) has h.vhd and h-fixed.vhd"
    else
        ((size > limit)) || die "--free $free_opt gives $size bytes: the test no longer straddles the limit"
        formats=$("$VDISKFS" info --quiet --json "$H" --free "$free_opt" | jq -c .formats)
        [ "$(jq -r '.[] | select(.fits) | "h" + .suffixes[]' <<<"$formats" | sort | tr '\n' ' ')" = "$(ls "$M" | tr '\n' ' ')" ] ||
            die "a disk above 2040 GiB shows: $(ls "$M"); info --json: $formats"
        [ "$(jq --argjson size "$size" '[.[] | select(.fits != (.max_disk_bytes == null or $size <= .max_disk_bytes))] | length' <<<"$formats")" = 0 ] &&
            [ "$(jq --argjson limit "$limit" '[.[] | select(.max_disk_bytes == $limit and (.fits | not))] | length' <<<"$formats")" -gt 0 ] ||
            die "info --json: which formats fit a disk above 2040 GiB: $formats"
        for f in $(jq -r '.[] | select(.fits | not) | .suffixes[]' <<<"$formats"); do
            grep -qF "no $f for h: the disk ($size bytes) exceeds VHD's limit of 2040 GiB" <<<"$log" ||
                die "no log line for the missing h$f: $log"
        done
        kernel_mount "$M/h.img" "$K" noatime
        features=$(sb_field "Filesystem features")
        [ "$features" = "ext_attr filetype extent flex_bg sparse_super large_file huge_file dir_nlink extra_isize" ] ||
            die "ext4 features with xattrs: '$features'"
        [ "$(stat -c %s "$K/huge")" = $((2041 << 30)) ] || die "huge: $(stat -c %s "$K/huge") bytes"
        [ "$(getfattr --absolute-names --only-values -n user.note "$K/huge")" = "over 2040 GiB" ] || die "huge lost its xattr"
        [ "$(stat -c '%a %u %g' "$K/lost+found")" = "700 0 0" ] && [ -z "$(ls -A "$K/lost+found")" ] ||
            die "the added lost+found is not an empty 0700 root directory"
        kernel_unmount
        echo "ok: a $size-byte disk (over 2040 GiB): no VHD files, a log line for each; a 2041 GiB file"
    fi
    unmount_fg "$M"
done
echo "ok: ext_attr with xattrs; an empty lost+found added when the source has none"
echo "PASS disk_details_test ($((($(date +%s%N) - t0) / 1000000)) ms)"
