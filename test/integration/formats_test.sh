#!/bin/bash
# Every container format of a mounted disk (KIND: small or full tree),
# judged by independent readers: qemu-img check/info/compare/map/convert,
# libvmdk's vmdkinfo and vmdkmount, libvhdi's vhdiinfo and vhdimount, and
# test/tools/vhd_check.py. References come from the disk's own structures,
# not from vdiskfs's stat: the size from the GPT, used and free space from
# the ext4 (dumpe2fs). Also the identity rules: same source twice -> same
# ids; other source -> other.
source "$(dirname "$0")/lib.sh"
KIND=${1:?usage: formats_test.sh small|full}
require_root
for t in "qemu-img qemu-utils" "jq jq" "python3 python3" "dumpe2fs e2fsprogs" "partx util-linux" \
         "vmdkinfo libvmdk-utils" "vmdkmount libvmdk-utils" "vhdiinfo libvhdi-utils" "vhdimount libvhdi-utils" "fusermount3 fuse3" \
         "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
bash "$TESTS_DIR/gen_tree.sh" "$KIND" "$WORK/src"
mkdir "$WORK/mnt" "$WORK/reader"
mount_fg "$WORK/src" "$WORK/mnt"
cd "$WORK/mnt"
# The formats and their files come from the table (vdiskfs info --json).
raw=$(exposed_files src img)
expected=$(exposed_files src | sort | tr '\n' ' ')
[ "$(ls | sort | tr '\n' ' ')" = "$expected" ] || die "exposed files: $(ls), the table gives $expected"
# sparse_files: the exposed files of the sparse formats (an allocation unit).
sparse_files() { formats_json | jq -r '.[] | select(.unit_bytes) | "src" + .suffixes[]'; }

GPT_CHECK=$TESTS_DIR/../tools/gpt_check.py
size=$(python3 "$GPT_CHECK" $raw) || die "$raw: no valid GPT"
[ "$(stat -c %s $raw)" = "$size" ] || die "$raw: st_size $(stat -c %s $raw), its GPT gives $size bytes"
probed=$(qemu-img info --output=json $raw | jq -r .format)
[ "$probed" = raw ] || die "$raw: qemu-img info without -f probes it as '$probed', not raw"
echo "ok: $raw is $size bytes by its GPT (primary and backup header), probed as raw"

# ext4's own view of its blocks (dumpe2fs on the partition): the header
# (what -h prints) gives the used size, the groups' "Free blocks:" lists
# the free ranges.
dev=$(attach_partition $raw)
part_offset=$(($(partx -g -n 1 -o START $raw) * 512))
dumpe2fs "$dev" >"$WORK/dumpe2fs.txt" 2>/dev/null || die "dumpe2fs $dev (partition of $raw) failed"
ext4_blocks=$(sb_field "Block count" "$dev") ext4_block_size=$(sb_field "Block size" "$dev")
detach "$dev"
[[ $ext4_blocks =~ ^[0-9]+$ && $ext4_block_size =~ ^[0-9]+$ ]] ||
    die "dumpe2fs -h of $raw: block count '$ext4_blocks', block size '$ext4_block_size'"
# free_ranges DUMP OFFSET OUT: ext4's free blocks as disk byte ranges to OUT; prints used bytes, ranges.
free_ranges() {
    python3 - "$@" <<'EOF'
import re, sys
dump, offset, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
text = open(dump).read()
field = lambda name: int(re.search(rf"^{name}:\s+(\d+)$", text, re.M).group(1))
bs, count, free = field("Block size"), field("Block count"), field("Free blocks")
ranges = []
for lst in re.findall(r"^  Free blocks: (.*)$", text, re.M):
    for r in filter(None, (x.strip() for x in lst.split(","))):
        a, _, b = r.partition("-")
        ranges.append((int(a), int(b or a) + 1))
ranges.sort()
if sum(b - a for a, b in ranges) != free:
    sys.exit(f"{dump}: the groups list {sum(b - a for a, b in ranges)} free blocks, the header says {free}")
merged = []
for a, b in ranges:
    if merged and a <= merged[-1][1]:
        merged[-1][1] = max(merged[-1][1], b)
    else:
        merged.append([a, b])
with open(out, "w") as f:
    for a, b in merged:
        f.write(f"{offset + a * bs} {offset + b * bs}\n")
print((count - free) * bs, len(merged))
EOF
}
read -r used_bytes nfree < <(free_ranges "$WORK/dumpe2fs.txt" "$part_offset" "$WORK/free.txt") || die "dumpe2fs of $raw unreadable"
echo "ext4: $used_bytes bytes used, $nfree free ranges"

# unit_of FILE: the allocation unit of a sparse format in bytes, null if not sparse.
unit_of() { file_format "$1" | jq -r .unit_bytes; }

# free_is_not_data FILE: no map data in any free range's whole units; prints the ranges checked.
free_is_not_data() {
    qemu-img map -f "$(fmt_of $1)" --output=json "$1" >"$WORK/map.json" || die "$1: qemu-img map failed"
    python3 - "$1" "$WORK/map.json" "$WORK/free.txt" "$(unit_of $1)" <<'EOF'
import bisect, json, sys
name, unit = sys.argv[1], int(sys.argv[4])
data = sorted((e["start"], e["start"] + e["length"]) for e in json.load(open(sys.argv[2])) if e["data"])
ends = [b for a, b in data]
checked = 0
for line in open(sys.argv[3]):
    a, b = map(int, line.split())
    lo, hi = -(-a // unit) * unit, b // unit * unit
    if lo >= hi:
        continue
    checked += 1
    i = bisect.bisect_right(ends, lo)  # first data extent ending after lo
    if i < len(data) and data[i][0] < hi:
        s, e = data[i]
        sys.exit(f"{name}: qemu-img map shows data at {s}..{e}, inside ext4 free space {a}..{b} (units {lo}..{hi})")
if checked == 0:
    sys.exit(f"{name}: no ext4 free range holds a whole {unit}-byte unit: nothing checked")
print(checked)
EOF
}

for f in $(exposed_files src); do
    fmt=$(fmt_of $f)
    [ "$fmt" != raw ] || continue  # the raw disk itself: the reference
    vsize=$(qemu-img info -f "$fmt" --output=json $f | jq '."virtual-size"')
    [ "$vsize" = "$size" ] || die "$f: qemu-img info virtual size $vsize, raw is $size"
    if [ "$fmt" != vpc ]; then
        out=$(qemu-img check -f "$fmt" --output=json $f) || die "$f: qemu-img check failed: $out"
        for k in corruptions leaks check-errors; do
            v=$(jq ".\"$k\" // 0" <<<"$out")
            [ "$v" = 0 ] || die "$f: qemu-img check reports $k=$v"
        done
    fi
    qemu-img compare -q -f raw -F "$fmt" $raw $f || die "$f: qemu-img compare says it differs from $raw"
    # The ext4 free space of the guest disk must not be data.
    checked=""  # a format that is not sparse (a fixed VHD, the ESXi descriptor) is not checked
    [ "$(unit_of $f)" = null ] || checked=$(free_is_not_data $f) || die "$f: free space check failed"
    qemu-img convert -f "$fmt" -O raw $f "$WORK/converted.raw"
    cmp $raw "$WORK/converted.raw" || die "$f: qemu-img convert -O raw differs from $raw"
    rm -f "$WORK/converted.raw"
    echo "ok: $f (info, check, compare, ${checked:+map: no data in $checked free ranges, }convert)"
done
# QEMU with aio=io_uring (libvirt's io='io_uring') reads every file too.
# QEMU 7.2 then hangs on a short read at a file's end: every size must be
# whole sectors, and a timeout turns a hang into a failure.
head -c 1048576 /dev/zero >"$WORK/uring-probe"
timeout 60 qemu-img info --image-opts "driver=raw,file.driver=file,file.filename=$WORK/uring-probe,file.aio=io_uring" \
    >/dev/null 2>&1 || die "QEMU cannot use io_uring on this machine (kernel.io_uring_disabled set? QEMU built without liburing?)"
for f in $(exposed_files src); do
    [ "$f" != "$raw" ] || continue
    bytes=$(stat -c %s $f)
    ((bytes % 512 == 0)) || die "$f: $bytes bytes, not whole 512-byte sectors"
    timeout 120 qemu-img compare -q --image-opts "driver=raw,file.driver=file,file.filename=$PWD/$raw" \
        "driver=$(fmt_of $f),file.driver=file,file.filename=$PWD/$f,file.aio=io_uring" ||
        die "$f: qemu-img compare with aio=io_uring failed or hung (exit $?)"
done
echo "ok: every file read by QEMU with aio=io_uring"

# touched_units UNIT: how many UNIT-byte units of the disk hold a byte outside ext4's free ranges.
touched_units() {
    python3 - "$WORK/free.txt" "$size" "$1" <<'EOF'
import sys
size, u = int(sys.argv[2]), int(sys.argv[3])
ranges = [tuple(map(int, line.split())) for line in open(sys.argv[1])]
print(-(-size // u) - sum(max(0, b // u - -(-a // u)) for a, b in ranges))
EOF
}
# Sparse files are small: ext4's used blocks (dumpe2fs), what lies outside
# the ext4, rounding to whole units and headers; not vdiskfs's st_blocks.
ext4_bytes=$((ext4_blocks * ext4_block_size))
outside=$((size - ext4_bytes))  # partition offset, GPTs, alignment
for f in $(sparse_files); do
    fsize=$(stat -c %s $f)
    u=$(unit_of $f)
    units=$(touched_units $u) || die "touched_units $u failed"
    rounding=$((units * u - used_bytes - outside))
    per_unit=0
    [ "$(fmt_of $f)" = vpc ] && per_unit=512  # a sector bitmap per block
    headers=$((1048576 + size / 1024 + units * per_unit))
    bound=$((used_bytes + outside + rounding + headers))
    ((fsize <= bound)) || die "$f is $fsize bytes, above $bound: ext4 used $used_bytes + outside ext4 $outside + rounding to $u-byte units $rounding + headers $headers"
    echo "ok: $f: $fsize bytes <= $bound (ext4 used $used_bytes + outside ext4 $outside + rounding to $u-byte units $rounding + headers $headers)"
done

# The VHDs, read by an independent reader of the spec (checksums, fields,
# BAT, bitmaps, content against the .img).
VHD_CHECK=$TESTS_DIR/../tools/vhd_check.py
for f in $(exposed_files src); do
    [ "$(fmt_of $f)" = vpc ] || continue
    python3 "$VHD_CHECK" $f $raw "$size" || die "$f: vhd_check.py found a fault"
done
# ...and it refuses copies with one fault each, naming the field (small
# tree only: the copies are made in the work folder).
if [ "$KIND" = small ]; then
    be32() { od -An -tu4 --endian=big -j "$2" -N 4 "$1" | tr -d ' '; }
    be64() { od -An -tu8 --endian=big -j "$2" -N 8 "$1" | tr -d ' '; }
    # flipped FILE OFFSET: BYTES for broken_copy that flip the byte at OFFSET of FILE.
    flipped() { printf '\\x%02x' $(($(od -An -tu1 -j "$2" -N 1 "$1") ^ 0xff)); }
    vhd_bytes=$(stat -c %s src.vhd)
    footer=$((vhd_bytes - 512))
    hdr=$(be64 src.vhd $((footer + 16))) bat=$(be64 src.vhd $((hdr + 16))) entries=$(be32 src.vhd $((hdr + 28)))
    [[ $hdr =~ ^[0-9]+$ && $bat =~ ^[0-9]+$ && $entries =~ ^[0-9]+$ ]] || die "src.vhd: header $hdr, BAT $bat, entries $entries"
    # The first allocated block: its BAT entry, and its sector bitmap's first byte.
    first=$(python3 -c 'import struct, sys
bat = struct.unpack(">%dI" % int(sys.argv[3]), open(sys.argv[1], "rb").read()[int(sys.argv[2]):][:4 * int(sys.argv[3])])
print(next(i for i, s in enumerate(bat) if s != 0xFFFFFFFF))' src.vhd "$bat" "$entries") || die "src.vhd: no allocated block"
    block_at=$(($(be32 src.vhd $((bat + 4 * first))) * 512))
    broken_copy src.vhd $((footer + 64)) "$(flipped src.vhd $((footer + 64)))" "footer checksum at offset $(printf '%#x' $((footer + 64)))" \
        python3 "$VHD_CHECK" "$WORK/copy" $raw "$size"
    broken_copy src.vhd $((hdr + 24)) '\x00\x02' "dynamic header checksum at offset $(printf '%#x' $((hdr + 36)))" \
        python3 "$VHD_CHECK" "$WORK/copy" $raw "$size"
    broken_copy src.vhd $((bat + 4 * first)) '\x7f\xff\xff\x00' "BAT entry $first at offset $(printf '%#x' $((bat + 4 * first))): sector 0x7fffff00" \
        python3 "$VHD_CHECK" "$WORK/copy" $raw "$size"
    broken_copy src.vhd "$block_at" '\xfe' "sector bitmap of block $first at offset $(printf '%#x' "$block_at"): 0xfe" \
        python3 "$VHD_CHECK" "$WORK/copy" $raw "$size"
    broken_copy src-fixed.vhd $((size + 64)) "$(flipped src-fixed.vhd $((size + 64)))" "footer checksum at offset $(printf '%#x' $((size + 64)))" \
        python3 "$VHD_CHECK" "$WORK/copy" $raw "$size"
    echo "ok: vhd_check.py refuses each broken copy (footer and dynamic header checksums, a BAT entry past the end, a sector bitmap, the fixed VHD's checksum)"
fi

# expect_info TOOL FILE TEXT: TOOL reads FILE and reports TEXT. (Output is
# captured first: `grep -q` in a pipe would cut the tool off with SIGPIPE.)
expect_info() {
    local out
    out=$("$1" "$2" 2>&1) || die "$1 $2 failed: $out"
    grep -q "$3" <<<"$out" || die "$1 $2 does not report '$3': $out"
    grep -q "($size bytes)" <<<"$out" || die "$1 $2 reports another size: $out"
}
expect_info vmdkinfo src.vmdk "Monolithic sparse"
expect_info vmdkinfo src-esx.vmdk "VMFS flat"
expect_info vhdiinfo src.vhd "Dynamic"
expect_info vhdiinfo src-fixed.vhd "Fixed"
echo "ok: vmdkinfo, vhdiinfo"

# reader_compare TOOL FILE NODE: mount FILE with libyal's TOOL, compare.
reader_compare() {
    local tool=$1 file=$2 node=$3 pid i status=0
    "$tool" -v "$file" "$WORK/reader" >"$WORK/reader.log" 2>&1 &
    pid=$!
    CLEANUP_PIDS+=("$pid")
    CLEANUP_MOUNTS+=("$WORK/reader")
    for ((i = 0; i < 300; i++)); do
        [ -e "$WORK/reader/$node" ] && break
        kill -0 "$pid" 2>/dev/null || { wait "$pid" || status=$?; die "$tool $file exited ($status) before showing $node: $(tail -20 "$WORK/reader.log")"; }
        sleep 0.1
    done
    [ -e "$WORK/reader/$node" ] || die "$tool $file: $node did not appear within 30 s: $(tail -20 "$WORK/reader.log")"
    cmp "$WORK/reader/$node" $raw || die "$tool $file: content differs from $raw"
    fusermount3 -u "$WORK/reader" || die "fusermount3 -u $WORK/reader ($tool) failed"
    wait_gone "$pid" 30 || die "$tool $file still runs 30 s after fusermount3 -u"
    wait "$pid" || status=$?
    [ $status -eq 0 ] || die "$tool $file exited with status $status after the unmount: $(tail -20 "$WORK/reader.log")"
    echo "ok: $tool $file equals the raw image (exit 0 after the unmount)"
}
reader_compare vmdkmount src.vmdk vmdk1
reader_compare vhdimount src.vhd vhdi1
reader_compare vhdimount src-fixed.vhd vhdi1

# Identity: the same source gives the same headers; ids differ elsewhere.
heads() { for f in $(sparse_files); do head -c 65536 "$1/$f" | sha256sum; done; }
first=$(heads "$WORK/mnt")
cd "$WORK"
unmount_fg "$WORK/mnt"
mount_fg "$WORK/src" "$WORK/mnt"
[ "$(heads "$WORK/mnt")" = "$first" ] || die "remounting the same source changed the container headers"
vhd_id=$(vhdiinfo "$WORK/mnt/src.vhd" | sed -n 's/.*Identifier.*: //p')
cid=$(vmdkinfo "$WORK/mnt/src.vmdk" | sed -n 's/.*Content identifier:.*\(0x[0-9a-f]*\)/\1/p')
unmount_fg "$WORK/mnt"
mkdir "$WORK/other"
echo different >"$WORK/other/file"
mount_fg "$WORK/other" "$WORK/mnt" --name src
[ "$(vhdiinfo "$WORK/mnt/src.vhd" | sed -n 's/.*Identifier.*: //p')" != "$vhd_id" ] || die "another source kept the VHD id"
[ "$(vmdkinfo "$WORK/mnt/src.vmdk" | sed -n 's/.*Content identifier:.*\(0x[0-9a-f]*\)/\1/p')" != "$cid" ] || die "another source kept the VMDK CID"
unmount_fg "$WORK/mnt"
echo "ok: identity (same source same ids, other source other ids)"

# --formats limits what appears.
mount_fg "$WORK/src" "$WORK/mnt" --formats qcow2,vhd
[ "$(ls "$WORK/mnt" | tr '\n' ' ')" = "$(exposed_files src qcow2 vhd | sort | tr '\n' ' ')" ] ||
    die "--formats qcow2,vhd shows: $(ls "$WORK/mnt")"
unmount_fg "$WORK/mnt"
# An unknown format is refused by vdiskfs itself (not by the parser): 1.
expect_status "$EXIT_REFUSED" "unknown format 'bogus'" "$VDISKFS" mount --formats bogus "$WORK/src" "$WORK/mnt"
echo "PASS formats_test $KIND"
