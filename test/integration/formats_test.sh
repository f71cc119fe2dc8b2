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
raw=src.img
expected="src-esx.vmdk src-fixed.vhd src-flat.vmdk src.img src.qcow2 src.vdi src.vhd src.vmdk"
[ "$(ls | sort | tr '\n' ' ')" = "$expected " ] || die "exposed files: $(ls)"

# gpt_disk_size IMG: IMG's size by its GPT, (primary's alternate LBA + 1) * 512, both headers checked.
gpt_disk_size() {
    python3 - "$1" <<'EOF'
import struct, sys, zlib
path = sys.argv[1]
with open(path, "rb") as f:
    # Checks the header at LBA (whose alternate must be OTHER); returns its alternate LBA.
    def header(lba, other):
        f.seek(lba * 512)
        h = f.read(512)
        at = lba * 512
        if h[0:8] != b"EFI PART":
            sys.exit(f"{path}: GPT header signature at offset {at:#x}: {h[0:8]!r}, expected b'EFI PART'")
        size = struct.unpack_from("<I", h, 0x0C)[0]
        if not 92 <= size <= 512:
            sys.exit(f"{path}: GPT header size at offset {at + 0x0C:#x}: {size}")
        crc = struct.unpack_from("<I", h, 0x10)[0]
        if zlib.crc32(h[:0x10] + bytes(4) + h[0x14:size]) != crc:
            sys.exit(f"{path}: GPT header CRC32 at offset {at + 0x10:#x}: {crc:#010x} does not match the header")
        my_lba, alt = struct.unpack_from("<QQ", h, 0x18)
        if my_lba != lba or (other is not None and alt != other):
            sys.exit(f"{path}: GPT header LBAs at offset {at + 0x18:#x}: current {my_lba}, alternate {alt}")
        return alt
    last = header(1, None)
    header(last, 1)
print((last + 1) * 512)
EOF
}
size=$(gpt_disk_size $raw) || die "$raw: no valid GPT"
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
detach "$dev"
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

# unit_of FILE: the allocation unit of a sparse format, in bytes.
unit_of() {
    case $1 in *.vmdk | *.qcow2) echo 65536 ;; *.vhd) echo 2097152 ;; *.vdi) echo 1048576 ;; esac
}

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

for f in src.vmdk src-esx.vmdk src.vhd src-fixed.vhd src.vdi src.qcow2; do
    fmt=$(fmt_of $f)
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
    case $f in
    *-fixed.vhd | *-esx.vmdk) checked="" ;;  # not sparse by design
    *) checked=$(free_is_not_data $f) || die "$f: free space check failed" ;;
    esac
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
for f in src.vmdk src-esx.vmdk src-flat.vmdk src.vhd src-fixed.vhd src.vdi src.qcow2; do
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
ext4_bytes=$(($(sed -n 's/^Block count: *//p' "$WORK/dumpe2fs.txt") * $(sed -n 's/^Block size: *//p' "$WORK/dumpe2fs.txt")))
outside=$((size - ext4_bytes))  # partition offset, GPTs, alignment
for f in src.vmdk src.vhd src.vdi src.qcow2; do
    fsize=$(stat -c %s $f)
    u=$(unit_of $f)
    units=$(touched_units $u) || die "touched_units $u failed"
    rounding=$((units * u - used_bytes - outside))
    per_unit=0
    [ "${f##*.}" = vhd ] && per_unit=512  # a sector bitmap per block
    headers=$((1048576 + size / 1024 + units * per_unit))
    bound=$((used_bytes + outside + rounding + headers))
    ((fsize <= bound)) || die "$f is $fsize bytes, above $bound: ext4 used $used_bytes + outside ext4 $outside + rounding to $u-byte units $rounding + headers $headers"
    echo "ok: $f: $fsize bytes <= $bound (ext4 used $used_bytes + outside ext4 $outside + rounding to $u-byte units $rounding + headers $headers)"
done

# The VHDs, read by an independent reader of the spec (checksums, fields,
# BAT, bitmaps, content against the .img).
for f in src.vhd src-fixed.vhd; do
    python3 "$TESTS_DIR/../tools/vhd_check.py" $f $raw "$size" || die "$f: vhd_check.py found a fault"
done

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
    local tool=$1 file=$2 node=$3 pid
    "$tool" -v "$file" "$WORK/reader" >/dev/null 2>&1 &
    pid=$!
    CLEANUP_PIDS+=("$pid")
    for ((i = 0; i < 100; i++)); do [ -e "$WORK/reader/$node" ] && break; sleep 0.1; done
    cmp "$WORK/reader/$node" $raw || die "$tool $file: content differs from $raw"
    fusermount3 -u "$WORK/reader"
    wait "$pid" || true
    echo "ok: $tool $file equals the raw image"
}
reader_compare vmdkmount src.vmdk vmdk1
reader_compare vhdimount src.vhd vhdi1
reader_compare vhdimount src-fixed.vhd vhdi1

# Identity: the same source gives the same headers; ids differ elsewhere.
heads() { for f in src.vmdk src.vhd src.vdi src.qcow2; do head -c 65536 "$1/$f" | sha256sum; done; }
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
[ "$(ls "$WORK/mnt" | tr '\n' ' ')" = "src.qcow2 src.vhd " ] || die "--formats qcow2,vhd shows: $(ls "$WORK/mnt")"
unmount_fg "$WORK/mnt"
# An unknown format is refused by vdiskfs itself (not by the parser): 1.
expect_status "$EXIT_REFUSED" "unknown format 'bogus'" "$VDISKFS" mount --formats bogus "$WORK/src" "$WORK/mnt"
echo "PASS formats_test $KIND"
