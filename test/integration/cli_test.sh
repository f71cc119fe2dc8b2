#!/bin/bash
# The README's command-line claims that no other test covers, each checked
# cheaply with the real binary on small trees: examples/mount-example.sh;
# export (same bytes as the mount, sparse); info (text and --json agree with
# the mounted disk); delta info / discard; the default state folder;
# --formats vmdk-flat,vhd-fixed; --label as the GPT partition name;
# --no-xattrs; --strict; --one-file-system; --readahead; --direct-io; -q;
# no allow_other unless asked; a tar's atime unmoved; an lz4 archive refused.
source "$(dirname "$0")/lib.sh"
require_root
for t in "fusermount3 fuse3" "partx util-linux" "losetup mount" "findmnt util-linux" "mountpoint util-linux" \
         "dumpe2fs e2fsprogs" "sgdisk gdisk" "qemu-img qemu-utils" "jq jq" "setfattr attr" "getfattr attr" \
         "python3 python3" "tar tar" "lz4 lz4" "$VDISKFS vdiskfs(build)"; do require $t; done
make_work
: >"$WORK/vdiskfs.log"

# The default state folder is outside $WORK: a name no user has, removed at
# exit (after its mount is gone), with /var/lib/vdiskfs itself if this test
# created it.
STATE_NAME=clitest-$$-$RANDOM
STATE_PID=""  # the daemon of the latest mount on the default state folder
STATE_BASE=/var/lib/vdiskfs
state_base_existed=0
[ -d "$STATE_BASE" ] && state_base_existed=1
remove_state() {
    if mountpoint -q "$WORK/state-mnt" 2>/dev/null; then fusermount3 -u "$WORK/state-mnt"; fi
    [ -z "$STATE_PID" ] || wait_gone "$STATE_PID" 5
    rm -rf -- "$STATE_BASE/$STATE_NAME"-*
    [ "$state_base_existed" = 1 ] || rmdir "$STATE_BASE" 2>/dev/null
}
trap 'rc=$?; set +e; remove_state; (exit $rc); cleanup' EXIT

# kernel_view IMAGE: lib.sh's kernel_mount at $WORK/kview.
kernel_view() { kernel_mount "$1" "$WORK/kview"; }
kernel_unview() { kernel_unmount; }

# The main source: a few files, one with a user xattr.
mkdir -p "$WORK/src/dir" "$WORK/src2" "$WORK/mnt" "$WORK/mnt2" "$WORK/state-mnt" "$WORK/kview"
random_bytes 1000000 >"$WORK/src/dir/data"
echo hello >"$WORK/src/hello.txt"
echo tagged >"$WORK/src/tagged.txt"
setfattr -n user.clitest -v marker "$WORK/src/tagged.txt"
echo other >"$WORK/src2/file"
src_real=$(realpath "$WORK/src")
# Counted now: reading a directory moves its atime (find does not use
# O_NOATIME), and the disk carries atimes.
src_entries=$(find "$WORK/src" | wc -l)
src_data_bytes=$(find "$WORK/src" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')

# 1. examples/mount-example.sh runs and shows qemu-img info and the GPT. This
#    is the CI run of the README's first command (under lib.sh: a sanitizer
#    report of its background daemon lands in $WORK and fails the test).
out=$(VDISKFS=$VDISKFS bash "$TESTS_DIR/../../examples/mount-example.sh" 2>&1) ||
    die "examples/mount-example.sh failed: $out"
grep -q "^file format: raw" <<<"$out" || die "mount-example.sh printed no qemu-img info: $out"
grep -qE "^ +1 +2048 +[0-9]+ .* 8300 +root$" <<<"$out" || die "mount-example.sh printed no partition table: $out"
grep -q "^Filesystem UUID:" <<<"$out" || die "mount-example.sh printed no superblock: $out"
example_mp=$(sed -n 's/^== vdiskfs mount --read-only [^ ]* //p' <<<"$out")
[ -n "$example_mp" ] && [ ! -e "$example_mp" ] || die "mount-example.sh left its mount point '$example_mp' behind"
echo "ok: examples/mount-example.sh: qemu-img info, partition table, superblock; cleaned up"

# 2. export writes the mounted .img byte for byte, sparse.
log_mark
mount_fg "$WORK/src" "$WORK/mnt"
mount_log=$(log_since)
img=$WORK/mnt/src.img
"$VDISKFS" export -q "$WORK/src" "$WORK/out.img" || die "vdiskfs export failed"
cmp "$WORK/out.img" "$img" || die "the exported image differs from the mounted .img"
size=$(stat -c %s "$WORK/out.img")
allocated=$(($(stat -c %b "$WORK/out.img") * 512))
((allocated * 10 < size)) || die "the exported image is not sparse: $allocated of $size bytes allocated"
echo "ok: export = mounted .img ($size bytes), sparse ($allocated bytes allocated)"

# 3. info, text and --json: the same facts, and those of the mounted disk.
text=$("$VDISKFS" info "$WORK/src") || die "vdiskfs info failed"
json=$("$VDISKFS" info --json "$WORK/src") || die "vdiskfs info --json failed"
jq -e . >/dev/null <<<"$json" || die "info --json is not JSON: $json"
for key in $(jq -r 'keys[]' <<<"$json"); do
    # formats: one "format NAME" line each; partitions: one "partition N"
    # line each; notes: "note" lines; fstab: "fstab line N" lines.
    case $key in scan_seconds | layout_seconds | formats | partitions | notes | fstab) continue ;; esac
    [ "$(sed -n "s/^$key  *//p" <<<"$text")" = "$(jq -r ".$key" <<<"$json")" ] ||
        die "info says $key '$(sed -n "s/^$key  *//p" <<<"$text")', info --json '$(jq -r ".$key" <<<"$json")'"
done
j() { jq -r ".$1" <<<"$json"; }
read -r pstart psectors < <(partx -g -n 1 -o START,SECTORS "$img")
kernel_view "$img"
identity=$(sed -n 's/.*, identity \([0-9a-f]*\)).*/\1/p' <<<"$mount_log")
for check in "source|$src_real" "filesystem|ext4" "disk_bytes|$(stat -c %s "$img")" \
             "partition_offset|$((pstart * 512))" "partition_bytes|$((psectors * 512))" \
             "fs_uuid|$(sb_field "Filesystem UUID")" "identity|$identity" \
             "ext4_blocks|$(sb_field "Block count")" "ext4_free_blocks|$(sb_field "Free blocks")" \
             "ext4_inodes|$(sb_field "Inode count")" "ext4_free_inodes|$(sb_field "Free inodes")" \
             "inodes_used|$(df --output=iused "$WORK/kview" | tail -1 | tr -d ' ')" \
             "entries|$src_entries" "data_bytes|$src_data_bytes"; do
    key=${check%%|*} want=${check#*|}
    [ -n "$want" ] && [ "$(j "$key")" = "$want" ] || die "info --json $key is '$(j "$key")', the mounted disk says '$want'"
done
echo "ok: info and info --json agree with each other and with the mount: $(jq -c '{disk_bytes, partition_offset, fs_uuid, identity}' <<<"$json")"

# 8 (control). Without --no-xattrs the kernel's ext4 shows the user xattr.
[ "$(getfattr --only-values -n user.clitest "$WORK/kview/tagged.txt" 2>/dev/null)" = marker ] ||
    die "the user.clitest xattr did not come through: $(getfattr -d -m '' "$WORK/kview/tagged.txt" 2>&1)"
kernel_unview

# 7 (control). Without --label the GPT partition name is vdiskfs.
out=$(sgdisk -i 1 "$img")
grep -qx "Partition name: 'vdiskfs'" <<<"$out" || die "default GPT partition name: $out"

# 11. --readahead: 4096 KiB by default (set at the first open).
head -c 1 "$img" >/dev/null
ra_file=/sys/class/bdi/$(mountpoint -d "$WORK/mnt")/read_ahead_kb
[ "$(cat "$ra_file")" = 4096 ] || die "default readahead is $(cat "$ra_file") KiB, not 4096 ($ra_file)"

# 14. No allow_other by default.
opts=$(findmnt -no OPTIONS "$WORK/mnt")
grep -qw allow_other <<<"$opts" && die "allow_other set without being asked: $opts"

# 12 (control). mmap of the .img works without --direct-io.
cat >"$WORK/mmap_probe.py" <<'EOF'
import mmap, sys
with open(sys.argv[1], "rb") as f:
    try:
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as e:
        print("refused:", e.errno, e.strerror)
        sys.exit(3)
    print("mapped:", m[510:512].hex())
EOF
out=$(python3 "$WORK/mmap_probe.py" "$img") && [ "$out" = "mapped: 55aa" ] || die "mmap without --direct-io: $out"
unmount_fg "$WORK/mnt"
echo "ok: default readahead 4096 KiB, no allow_other ($opts), mmap works, user xattr carried, GPT name 'vdiskfs'"

# 4. delta info and delta discard.
pattern_at=$((64 << 20))
random_bytes 4096 >"$WORK/pattern"
# at_pattern IMAGE: the 4 KiB of IMAGE where the pattern is written.
at_pattern() { dd if="$1" bs=4096 skip=$((pattern_at / 4096)) count=1 status=none; }
mount_fg "$WORK/src" "$WORK/mnt" --delta "$WORK/d"
dd if="$WORK/pattern" of="$img" bs=4096 seek=$((pattern_at / 4096)) conv=notrunc,fsync status=none
unmount_fg "$WORK/mnt"
info=$("$VDISKFS" delta info "$WORK/d") || die "delta info failed"
img_block=$(awk -v RS= '/\nexposed_file +src\.img\n/' <<<"$info")
grep -qx "pages_held *1" <<<"$img_block" && grep -qx "bytes_held *4096" <<<"$img_block" &&
    grep -qx "base_identity *$identity" <<<"$img_block" && grep -qx "path *$WORK/d/.*" <<<"$img_block" ||
    die "delta info of the .img's delta: '$img_block' (all of it: $info)"
mount_fg "$WORK/src" "$WORK/mnt" --delta "$WORK/d"
at_pattern "$img" | cmp -s - "$WORK/pattern" || die "the write is not in the delta at the next mount"
unmount_fg "$WORK/mnt"
out=$("$VDISKFS" delta discard "$WORK/d") || die "delta discard failed: $out"
grep -qE "^discarded [1-9][0-9]* file\(s\) in $WORK/d$" <<<"$out" || die "delta discard said: $out"
[ "$("$VDISKFS" delta info "$WORK/d")" = "no deltas in $WORK/d" ] || die "delta info after discard: $("$VDISKFS" delta info "$WORK/d")"
mount_fg "$WORK/src" "$WORK/mnt" --delta "$WORK/d"
at_pattern "$img" | cmp -s - "$WORK/pattern" && die "the pattern is still there after delta discard"
at_pattern "$img" | cmp -s - <(at_pattern "$WORK/out.img") || die "after delta discard the disk differs from the export"
unmount_fg "$WORK/mnt"
echo "ok: delta info shows the written page ($(grep -c '^path' <<<"$info") delta files), delta discard drops it"

# 5. The default state folder: /var/lib/vdiskfs/<name>-<hash of the source path>, named in the log.
log_mark
mount_fg "$WORK/src" "$WORK/state-mnt" --name "$STATE_NAME" --no-test-delta
STATE_PID=$MOUNT_PID
state_dir=$(log_since | sed -n 's/.*: info: writes go to the delta in //p')
[[ $state_dir =~ ^$STATE_BASE/$STATE_NAME-[0-9a-f]{8}$ ]] || die "the mount's log names the state folder '$state_dir': $(log_since)"
dd if="$WORK/pattern" of="$WORK/state-mnt/$STATE_NAME.img" bs=4096 seek=$((pattern_at / 4096)) conv=notrunc,fsync status=none
unmount_fg "$WORK/state-mnt"
[ "$(ls -d "$STATE_BASE/$STATE_NAME"-*)" = "$state_dir" ] || die "state folders: $(ls -d "$STATE_BASE/$STATE_NAME"-*)"
out=$("$VDISKFS" delta info "$state_dir") || die "delta info $state_dir failed: $out"
grep -qx "exposed_file *$STATE_NAME.img" <<<"$out" || die "no delta of the .img in $state_dir: $out"
log_mark
mount_fg "$WORK/src2" "$WORK/state-mnt" --name "$STATE_NAME" --formats img --no-test-delta
STATE_PID=$MOUNT_PID
state_dir2=$(log_since | sed -n 's/.*: info: writes go to the delta in //p')
unmount_fg "$WORK/state-mnt"
[[ $state_dir2 =~ ^$STATE_BASE/$STATE_NAME-[0-9a-f]{8}$ ]] && [ "$state_dir2" != "$state_dir" ] ||
    die "another source with the same --name got the state folder '$state_dir2' (first: '$state_dir')"
echo "ok: default state folder $state_dir (another source: ${state_dir2##*/})"

# 6. --formats vmdk-flat,vhd-fixed: exactly the ESXi descriptor, its flat extent and the fixed VHD.
mount_fg "$WORK/src" "$WORK/mnt" --formats vmdk-flat,vhd-fixed --read-only
files=$(ls "$WORK/mnt" | tr '\n' ' ')
[ "$files" = "$(exposed_files src vmdk-flat vhd-fixed | sort | tr '\n' ' ')" ] || die "--formats vmdk-flat,vhd-fixed shows: $files"
cmp "$WORK/mnt/src-flat.vmdk" "$WORK/out.img" || die "the -flat.vmdk is not the raw disk"
cmp -n "$size" "$WORK/mnt/src-fixed.vhd" "$WORK/out.img" || die "the fixed VHD does not start with the raw disk"
[ "$(stat -c %s "$WORK/mnt/src-fixed.vhd")" = $((size + 512)) ] || die "the fixed VHD is not the raw disk + a 512-byte footer"
grep -q 'createType="vmfs"' "$WORK/mnt/src-esx.vmdk" && grep -q '"src-flat.vmdk"' "$WORK/mnt/src-esx.vmdk" ||
    die "the ESXi descriptor: $(cat "$WORK/mnt/src-esx.vmdk")"
unmount_fg "$WORK/mnt"
echo "ok: --formats vmdk-flat,vhd-fixed -> $files"

# 7. --label is also the GPT partition name.
mount_fg "$WORK/src" "$WORK/mnt" --label cli-root --read-only
out=$(sgdisk -i 1 "$img")
grep -qx "Partition name: 'cli-root'" <<<"$out" || die "--label cli-root, GPT entry 1: $out"
unmount_fg "$WORK/mnt"
echo "ok: --label cli-root is the GPT partition name"

# 8. --no-xattrs: the kernel's ext4 shows no xattr at all on the tagged file.
mount_fg "$WORK/src" "$WORK/mnt" --no-xattrs --read-only
kernel_view "$img"
[ "$(cat "$WORK/kview/tagged.txt")" = tagged ] || die "tagged.txt is missing with --no-xattrs"
xattrs=$(getfattr --absolute-names -d -m '' "$WORK/kview/tagged.txt" 2>&1)
[ -z "$xattrs" ] || die "--no-xattrs still carried: $xattrs"
kernel_unview
unmount_fg "$WORK/mnt"
echo "ok: --no-xattrs carries no xattr (without it: user.clitest=marker)"

# 9. --strict. As root every file and directory can be read, whatever its
# mode; what the scan cannot read is a FUSE mount whose daemon is gone (a
# stale mount inside a tree): statx/open answer ENOTCONN.
mkdir -p "$WORK/strict/stale"
echo keep >"$WORK/strict/keep.txt"
mount_fg "$WORK/src2" "$WORK/strict/stale" --read-only
kill -9 "$MOUNT_PID"
status=0
wait "$MOUNT_PID" 2>/dev/null || status=$?
forget_daemon "$MOUNT_PID"
[ $status -eq 137 ] || die "the daemon killed with SIGKILL exited with status $status, not 137"
strict_real=$(realpath "$WORK/strict")
expect_status "$EXIT_REFUSED" "cannot read $strict_real/stale: Transport endpoint is not connected (without --strict it is skipped)" \
    "$VDISKFS" mount --strict --read-only "$WORK/strict" "$WORK/mnt"
mountpoint -q "$WORK/mnt" && die "--strict mounted anyway"
log_mark
mount_fg "$WORK/strict" "$WORK/mnt" --read-only
log=$(log_since)
grep -qF "warning: skipped 1 entry that could not be read (use --strict to fail instead):" <<<"$log" &&
    grep -qF "warning:   stale: Transport endpoint is not connected" <<<"$log" || die "no warning for the skipped entry: $log"
grep -qF ": info: " <<<"$log" || die "a mount without -q logged no info line: $log"
kernel_view "$WORK/mnt/strict.img"
[ "$(ls "$WORK/kview" | tr '\n' ' ')" = "keep.txt lost+found " ] || die "without --strict the disk holds: $(ls "$WORK/kview")"
kernel_unview
unmount_fg "$WORK/mnt"
echo "ok: --strict fails on an unreadable entry (exit 1); without it the entry is skipped with a warning"

# 13. -q: warnings only, no info line (the same mount logged info lines above).
log_mark
mount_fg "$WORK/strict" "$WORK/mnt" -q
log=$(log_since)
grep -qF "warning:   stale: Transport endpoint is not connected" <<<"$log" || die "-q hid the warning: $log"
grep -qF ": info: " <<<"$log" && die "-q still logged info lines: $log"
unmount_fg "$WORK/mnt"
fusermount3 -u "$WORK/strict/stale"
echo "ok: -q logs warnings only"

# 10. --one-file-system: a tmpfs inside the source is not descended into;
# its mount point stays, empty, with the mounted root's mode, owners and
# times (what stat shows there, as GNU tar and rsync -x record), and an
# info line names it.
mkdir -p "$WORK/ofs/inner"
echo outer >"$WORK/ofs/outer.txt"
mount -t tmpfs -o size=1M,mode=0750,uid=4321,gid=8765 tmpfs "$WORK/ofs/inner"
CLEANUP_MOUNTS+=("$WORK/ofs/inner")
echo on-tmpfs >"$WORK/ofs/inner/ontmpfs.txt"
touch -d '2030-01-02 03:04:05.123456789' "$WORK/ofs/inner"
inner_stat=$(stat -c '%A %u:%g %y' "$WORK/ofs/inner")
mount_fg "$WORK/ofs" "$WORK/mnt" --read-only
kernel_view "$WORK/mnt/ofs.img"
[ "$(cat "$WORK/kview/inner/ontmpfs.txt" 2>&1)" = on-tmpfs ] || die "without --one-file-system the tmpfs's file is missing"
kernel_unview
unmount_fg "$WORK/mnt"
log_mark
mount_fg "$WORK/ofs" "$WORK/mnt" --read-only --one-file-system
kernel_view "$WORK/mnt/ofs.img"
[ "$(cat "$WORK/kview/outer.txt")" = outer ] || die "--one-file-system lost outer.txt"
[ -e "$WORK/kview/inner/ontmpfs.txt" ] && die "--one-file-system descended into the tmpfs"
[ -d "$WORK/kview/inner" ] && [ -z "$(ls -A "$WORK/kview/inner")" ] ||
    die "--one-file-system: the mount point is not an empty directory: $(ls -la "$WORK/kview/inner" 2>&1)"
got=$(stat -c '%A %u:%g %y' "$WORK/kview/inner")
[ "$got" = "$inner_stat" ] || die "--one-file-system: the mount point is '$got', the mount shows '$inner_stat'"
kernel_unview
unmount_fg "$WORK/mnt"
log=$(log_since)
want="info: --one-file-system: 1 directory of directory $WORK/ofs on other filesystems kept empty, not descended into:"
grep -qF -- "$want" <<<"$log" && grep -qx '.*info:   inner' <<<"$log" ||
    die "--one-file-system: no info line '$want' naming inner in: $log"
umount "$WORK/ofs/inner"
echo "ok: --one-file-system does not descend into the tmpfs; its mount point stays empty ($got); $want inner"

# 11. --readahead KIB sets the mount's bdi readahead; 0 leaves the kernel's:
#     128 KiB (VM_READAHEAD_PAGES, which FUSE keeps as its max_readahead),
#     so a daemon that wrote 0 (no readahead at all) fails.
KERNEL_READAHEAD_KB=128
for ra in 2048 0; do
    mount_fg "$WORK/src" "$WORK/mnt" --read-only --readahead "$ra"
    head -c 1 "$img" >/dev/null
    got=$(cat "/sys/class/bdi/$(mountpoint -d "$WORK/mnt")/read_ahead_kb")
    unmount_fg "$WORK/mnt"
    if [ "$ra" = 0 ]; then [ "$got" = "$KERNEL_READAHEAD_KB" ] || die "--readahead 0 gave $got KiB, not the kernel's $KERNEL_READAHEAD_KB"
    else [ "$got" = "$ra" ] || die "--readahead $ra gave $got KiB"; fi
done
echo "ok: --readahead 2048 -> 2048 KiB; --readahead 0 -> the kernel's $got KiB; default 4096"

# 12. --direct-io: the same bytes, no mmap.
mount_fg "$WORK/src" "$WORK/mnt" --read-only --direct-io
cmp "$img" "$WORK/out.img" || die "--direct-io reads differ from the .img"
out=$(python3 "$WORK/mmap_probe.py" "$img") && die "mmap succeeded with --direct-io: $out"
[ "$out" = "refused: 19 No such device" ] || die "mmap with --direct-io: $out"
unmount_fg "$WORK/mnt"
echo "ok: --direct-io reads the same bytes; mmap is refused (ENODEV)"

# 14. allow_other when asked.
mount_fg "$WORK/src" "$WORK/mnt" --read-only -o allow_other
opts=$(findmnt -no OPTIONS "$WORK/mnt")
grep -qw allow_other <<<"$opts" || die "-o allow_other not applied: $opts"
unmount_fg "$WORK/mnt"
echo "ok: -o allow_other -> $opts"

# 15. A tar source's atime does not move (relatime would move an old one).
tar -C "$WORK/src" -cf "$WORK/src.tar" .
touch -a -d "2001-02-03 04:05:06" "$WORK/src.tar"
atime=$(stat -c %X "$WORK/src.tar")
mount_fg "$WORK/src.tar" "$WORK/mnt" --read-only
kernel_view "$img"
cmp "$WORK/kview/dir/data" "$WORK/src/dir/data" || die "the tar's disk does not read dir/data"
kernel_unview
unmount_fg "$WORK/mnt"
[ "$(stat -c %X "$WORK/src.tar")" = "$atime" ] || die "mount and reads moved the tar's atime to $(stat -c %x "$WORK/src.tar")"
cat "$WORK/src.tar" >/dev/null
[ "$(stat -c %X "$WORK/src.tar")" != "$atime" ] || die "cat did not move the atime either: this filesystem records no atime, the check says nothing"
echo "ok: the tar's atime stays $(date -d @"$atime" +%F) through mount and reads (cat moves it)"

# 16. An lz4 archive (frame format, and the legacy one of lz4 -l) is refused with the command to decompress it.
for opt in "" -l; do
    lz4 -q -f $opt "$WORK/src.tar" "$WORK/src.tar.lz4"
    expect_status "$EXIT_REFUSED" "$WORK/src.tar.lz4 is a lz4-compressed archive" \
        "$VDISKFS" mount --read-only "$WORK/src.tar.lz4" "$WORK/mnt"
    grep -qF "decompress it first (lz4 -d $WORK/src.tar.lz4)" <<<"$OUT" || die "no decompress command: $OUT"
    mountpoint -q "$WORK/mnt" && die "an lz4 archive was mounted"
done
echo "ok: lz4 archives refused with 'lz4 -d'"

# 17. An fstab line, mounted with mount(8) and unmounted with umount as a
# user would: mount.fuse3 runs `vdiskfs SOURCE MOUNTPOINT -o OPTIONS`. The
# line names this build's binary in the PROG#SOURCE form of type fuse
# (type fuse.vdiskfs runs the same command, with vdiskfs found on root's
# PATH: an installed one, which a test must not replace).
command -v mount.fuse3 >/dev/null || die "mount.fuse3 is missing: install the package fuse3"
printf '%s#%s %s fuse ro,noauto,nofail,layout=single,formats=img+vmdk,name=fst,log=%s 0 0\n' \
    "$VDISKFS" "$WORK/src.tar" "$WORK/mnt" "$WORK/fstab.log" >"$WORK/fstab"
mount -T "$WORK/fstab" "$WORK/mnt" 2>"$WORK/mount.err" ||
    die "mount of the fstab line failed: $(cat "$WORK/mount.err" "$WORK/fstab.log" 2>/dev/null)"
read -r fstype opts < <(findmnt -no FSTYPE,OPTIONS "$WORK/mnt")
[ "$fstype" = fuse.vdiskfs ] && grep -qw ro <<<"$opts" || die "the fstab mount is $fstype ($opts), want fuse.vdiskfs, ro"
[ "$(ls "$WORK/mnt" | tr '\n' ' ')" = "fst.img fst.vmdk " ] || die "the fstab mount shows $(ls "$WORK/mnt"), want fst.img fst.vmdk"
"$VDISKFS" export -q --layout single "$WORK/src.tar" "$WORK/fst.img" || die "export for the fstab check failed"
cmp "$WORK/mnt/fst.img" "$WORK/fst.img" || die "the fstab mount's disk differs from vdiskfs export's"
dd if=/dev/zero of="$WORK/mnt/fst.img" bs=4096 count=1 conv=notrunc status=none 2>/dev/null && die "ro in fstab, yet a write went through"
umount "$WORK/mnt" || die "umount of the fstab mount failed"
mountpoint -q "$WORK/mnt" && die "umount left $WORK/mnt mounted"
sed -i 's/nofail,/nofail,bogus=1,/' "$WORK/fstab"
mount -T "$WORK/fstab" "$WORK/mnt" >"$WORK/mount.err" 2>&1 && die "an fstab line with bogus=1 was mounted"
grep -qF "fstab option 'bogus=1' is not an option of vdiskfs mount" "$WORK/mount.err" || die "the bad fstab option was not named: $(cat "$WORK/mount.err")"
mountpoint -q "$WORK/mnt" && die "a refused fstab line left $WORK/mnt mounted"
echo "ok: an fstab line (vdiskfs#SOURCE, ro, layout=single, formats=img+vmdk) mounts with mount -T and leaves with umount; a bad option is named"
echo "PASS cli_test"
