#!/bin/bash
# Every container format of a mounted disk (KIND: small or full tree),
# judged by independent readers: qemu-img check/info/compare/map/convert,
# libvmdk's vmdkinfo and vmdkmount, libvhdi's vhdiinfo and vhdimount. Also
# the identity rules: same source twice -> same ids; other source -> other.
source "$(dirname "$0")/lib.sh"
KIND=${1:?usage: formats_test.sh small|full}
require_root
for t in "qemu-img qemu-utils" "jq jq" "dumpe2fs e2fsprogs" "partx util-linux" "vmdkinfo libvmdk-utils" "vmdkmount libvmdk-utils" \
         "vhdiinfo libvhdi-utils" "vhdimount libvhdi-utils" "fusermount3 fuse3" \
         "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
bash "$TESTS_DIR/gen_tree.sh" "$KIND" "$WORK/src"
mkdir "$WORK/mnt" "$WORK/reader"
mount_fg "$WORK/src" "$WORK/mnt"
cd "$WORK/mnt"
raw=src.img
size=$(stat -c %s $raw)
expected="src-esx.vmdk src-fixed.vhd src-flat.vmdk src.img src.qcow2 src.vdi src.vhd src.vmdk"
[ "$(ls | sort | tr '\n' ' ')" = "$expected " ] || die "exposed files: $(ls)"

# The largest run of free ext4 blocks, as disk offsets aligned inwards to
# 2 MiB (the largest allocation unit, VHD's block): free_from, free_to.
dev=$(attach_partition $raw)
part_offset=$(($(partx -g -n 1 -o START $raw) * 512))
read -r free_from free_to < <(dumpe2fs "$dev" 2>/dev/null | sed -n 's/^  Free blocks: //p' | tr ',' '\n' |
    awk -v off="$part_offset" -F- 'NF == 2 && $2 - $1 > best { best = $2 - $1; a = $1; b = $2 }
        END { u = 2097152; from = int((off + a * 4096 + u - 1) / u) * u; to = int((off + (b + 1) * 4096) / u) * u;
              printf "%d %d\n", from, to }')
detach "$dev"
((free_to - free_from >= 64 * 1024 * 1024)) || die "no 64 MiB run of free space found ($free_from..$free_to)"
echo "free space checked: bytes $free_from..$free_to"

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
    data=$(qemu-img map -f "$fmt" --output=json $f |
        jq "[.[] | select(.data == true and .start + .length > $free_from and .start < $free_to)] | length")
    case $f in
    *-fixed.vhd | *-esx.vmdk) ;;  # not sparse by design
    *) [ "$data" = 0 ] || die "$f: qemu-img map shows data in the free space" ;;
    esac
    qemu-img convert -f "$fmt" -O raw $f "$WORK/converted.raw"
    cmp $raw "$WORK/converted.raw" || die "$f: qemu-img convert -O raw differs from $raw"
    rm -f "$WORK/converted.raw"
    echo "ok: $f (info, check, compare, map, convert)"
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

# Sparse files are small: a few MiB over the data, not the disk size.
for f in src.vmdk src.vhd src.vdi src.qcow2; do
    fsize=$(stat -c %s $f)
    used=$(stat -c %b $raw)
    ((fsize < used * 512 + 64 * 1024 * 1024)) || die "$f is $fsize bytes for $((used * 512)) bytes of data"
done
echo "ok: sparse files sized by their data"

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
"$VDISKFS" mount --formats bogus "$WORK/src" "$WORK/mnt" 2>"$WORK/err" && die "--formats bogus accepted"
grep -q "unknown format 'bogus'" "$WORK/err" || die "--formats bogus said: $(cat "$WORK/err")"
echo "PASS formats_test $KIND"
