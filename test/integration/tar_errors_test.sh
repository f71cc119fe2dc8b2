#!/bin/bash
# A tar archive as the source, when it is hostile, broken or changes:
# members with absolute paths, '..' or a path through a symlink are left
# out of the disk with a warning naming each (the kernel's ext4 view holds
# only the good members), --strict refuses the archive; a bzip2'd, truncated
# or corrupt archive fails the mount with a message naming the file and
# the problem and leaves nothing mounted; an archive appended to or
# rewritten after the mount answers EIO on its files' blocks with a log
# line, while the metadata still reads and the daemon stays up.
source "$(dirname "$0")/lib.sh"
require_root
PYTHON=/usr/bin/python3
for t in "tar tar" "lz4 lz4" "$PYTHON python3" "debugfs e2fsprogs" "partx util-linux" "losetup mount" \
         "mountpoint util-linux" "fusermount3 fuse3" "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
mkdir "$WORK/mnt" "$WORK/kernel"

# expect_mount_fail ARCHIVE OPTIONS PATTERN...: `vdiskfs mount [OPTIONS]
# ARCHIVE` (as a user runs it: in the background) must be refused with
# exit status 1 (README, "Exit status"; an ASan abort would be 134, a
# leak report 23) saying every PATTERN (fixed strings), and leave no mount
# and no daemon behind.
expect_mount_fail() {
    local tar=$1 opts=$2 p
    shift 2
    CLEANUP_MOUNTS+=("$WORK/mnt")  # should it mount after all
    # shellcheck disable=SC2086 # OPTIONS are words
    expect_status "$EXIT_REFUSED" "$1" "$VDISKFS" mount --read-only $opts "$tar" "$WORK/mnt"
    for p in "${@:2}"; do
        grep -qF -- "$p" <<<"$OUT" || die "mounting $tar said '$OUT'; expected '$p'"
    done
    mountpoint -q "$WORK/mnt" && die "$tar was refused, yet $WORK/mnt is mounted"
    [ -z "$(ls -A "$WORK/mnt")" ] || die "$WORK/mnt is not empty after the failed mount: $(ls -A "$WORK/mnt")"
    if pgrep -f "vdiskfs mount --read-only $opts *$tar" >/dev/null; then die "a daemon for $tar is still running"; fi
}

# kernel_files DIR: every path under DIR with its type, lost+found left out.
kernel_files() {
    (cd "$1" && find . -path ./lost+found -prune -o -printf '%y %p\n' | sort)
}

# ---------------------------------------------------------------- hostile
# Python's tarfile writes what GNU tar would refuse to write.
random_bytes 100000 >"$WORK/data.bin"
cat >"$WORK/hostile.py" <<'EOF'
import io, sys, tarfile
def add(t, name, data=b"", **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items(): setattr(ti, k, v)
    if ti.type == tarfile.REGTYPE:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)
data = open(sys.argv[2], "rb").read()
EVIL = b"EVIL-MEMBER-BYTES\n"
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    add(t, "good/readme", b"good readme\n")
    add(t, "good/dir/data", data)
    add(t, "/abs-evil", EVIL)                        # absolute
    add(t, "../dotdot-evil", EVIL)                   # '..'
    add(t, "good/../../dotdot2-evil", EVIL)          # '..' inside
    add(t, "link", type=tarfile.SYMTYPE, linkname="/etc") # a symlink out...
    add(t, "link/passwd-evil", EVIL)                 # ...and a member through it
    add(t, "good/up", type=tarfile.SYMTYPE, linkname="..")
    add(t, "good/up/up-evil", EVIL)
    add(t, "hard-evil", type=tarfile.LNKTYPE, linkname="/etc/shadow")
    add(t, "later/good-after", b"still here\n")
EOF
"$PYTHON" "$WORK/hostile.py" "$WORK/hostile.tar" "$WORK/data.bin" || die "python3 could not write the hostile tar"
hostile=(/abs-evil ../dotdot-evil good/../../dotdot2-evil link/passwd-evil good/up/up-evil hard-evil)
# The archive really holds them (otherwise the checks below prove nothing).
listing=$(tar -tf "$WORK/hostile.tar" 2>/dev/null)
for m in "${hostile[@]}"; do
    grep -qxF -- "$m" <<<"$listing" || die "the hostile tar lacks $m: $listing"
done

mount_fg "$WORK/hostile.tar" "$WORK/mnt"
img=$WORK/mnt/hostile.img
[ -f "$img" ] || die "$img is not exposed: $(ls -la "$WORK/mnt")"
grep -qF "skipped ${#hostile[@]} entries" "$WORK/vdiskfs.log" ||
    die "no warning that ${#hostile[@]} entries were skipped: $(cat "$WORK/vdiskfs.log")"
warnings=$(grep -E "warning" "$WORK/vdiskfs.log")
for m in "${hostile[@]}"; do
    grep -qF -- "  $m: " <<<"$warnings" || die "no warning names $m: $(cat "$WORK/vdiskfs.log")"
done
grep -qF -- "/abs-evil: absolute path refused" "$WORK/vdiskfs.log" || die "the warning does not say why /abs-evil is refused"
grep -qF -- "link/passwd-evil: a parent (link) is not a directory" "$WORK/vdiskfs.log" ||
    die "the warning does not say why link/passwd-evil is refused"
echo "ok: a warning names each of the ${#hostile[@]} refused members"

kernel_mount "$img"
want=$(printf '%s\n' "d ." "d ./good" "f ./good/readme" "d ./good/dir" "f ./good/dir/data" "l ./good/up" \
                     "l ./link" "d ./later" "f ./later/good-after" | sort)
got=$(kernel_files "$WORK/kernel")
[ "$got" = "$want" ] || die "the kernel's view differs from the good members: $(diff <(echo "$want") <(echo "$got"))"
[ "$(cat "$WORK/kernel/good/readme")" = "good readme" ] || die "good/readme reads wrong"
cmp "$WORK/kernel/good/dir/data" "$WORK/data.bin" || die "good/dir/data reads wrong"
[ "$(cat "$WORK/kernel/later/good-after")" = "still here" ] || die "later/good-after reads wrong"
[ "$(readlink "$WORK/kernel/link")" = /etc ] || die "the symlink link does not point to /etc"
if grep -rqsF EVIL-MEMBER-BYTES "$WORK/kernel"; then die "some file on the disk holds a hostile member's bytes"; fi
echo "ok: the kernel's ext4 view holds the good members and none of the hostile ones"
kernel_unmount
unmount_fg "$WORK/mnt"

expect_mount_fail "$WORK/hostile.tar" --strict \
    "tar archive $WORK/hostile.tar: member /abs-evil: absolute path refused" "without --strict it is skipped"

# ---------------------------------------------------------------- broken
mkdir "$WORK/src"
printf 'small' >"$WORK/src/a"
random_bytes 1000000 >"$WORK/src/b"
tar --format=ustar -C "$WORK/src" -cf "$WORK/good.tar" a b || die "tar failed"
# Headers: a at 0 (5 bytes of data at 512), b at 1024, b's data at 1536.
[ "$(tar -tvRf "$WORK/good.tar" | sed -n 2p | cut -d: -f1)" = "block 2" ] || die "unexpected layout: $(tar -tvRf "$WORK/good.tar")"

# lz4 is not read in place (gzip, zstd, xz and bzip2 are: compressed_test.sh).
lz4 -q "$WORK/good.tar" "$WORK/good.tar.lz4" || die "lz4 failed"
expect_mount_fail "$WORK/good.tar.lz4" "" "$WORK/good.tar.lz4 is a lz4-compressed archive" "decompress it first"

head -c 700000 "$WORK/good.tar" >"$WORK/cut.tar"
expect_mount_fail "$WORK/cut.tar" "" "tar archive $WORK/cut.tar is truncated" "the member at offset 1024" "ends at 700000"

cp "$WORK/good.tar" "$WORK/corrupt.tar"
printf 'X' | dd of="$WORK/corrupt.tar" bs=1 seek=1025 conv=notrunc status=none
expect_mount_fail "$WORK/corrupt.tar" "" "tar archive $WORK/corrupt.tar is corrupt: bad header checksum at offset 1024"

# The intact archive mounts (so the failures above are about the damage).
mount_fg "$WORK/good.tar" "$WORK/mnt" --read-only
unmount_fg "$WORK/mnt"
echo "ok: the undamaged archive mounts"

# ---------------------------------------------------------------- changed
# changed_test NAME HOW: mounts a copy of good.tar as NAME.tar, changes it
# with HOW (append or overwrite), then reads b's blocks.
changed_test() {
    local name=$1 how=$2 tar=$WORK/$1.tar
    cp "$WORK/good.tar" "$tar"
    : >"$WORK/vdiskfs.log"
    mount_fg "$tar" "$WORK/mnt"
    local img=$WORK/mnt/$name.img dev start first last
    dev=$(attach_partition "$img")
    read -r start _ < <(partx -g -n 1 -o START,SECTORS "$img")
    # Where b's first and last blocks lie in the image.
    first=$(debugfs -R "bmap /b 0" "$dev" 2>/dev/null)
    last=$(debugfs -R "bmap /b $((1000000 / 4096))" "$dev" 2>/dev/null)
    [[ $first =~ ^[0-9]+$ && $last =~ ^[0-9]+$ && $first -gt 0 ]] || die "debugfs bmap of /b: '$first' '$last'"
    detach "$dev"
    # Before the change: the raw blocks are b's bytes.
    cmp <(dd if="$img" iflag=direct bs=4096 skip=$((start / 8 + first)) count=1 status=none) \
        <(head -c 4096 "$WORK/src/b") || die "the image's block $first is not b's first block"
    cmp <(dd if="$img" iflag=direct bs=4096 skip=$((start / 8 + last)) count=1 status=none | head -c $((1000000 % 4096))) \
        <(tail -c $((1000000 % 4096)) "$WORK/src/b") || die "the image's block $last is not b's last block"

    case $how in
    append)
        echo "new member" >"$WORK/src/extra"
        tar --format=ustar -C "$WORK/src" -rf "$tar" extra || die "tar -rf failed"
        ;;
    overwrite)  # the same size, a byte of the end marker: only the mtime and content change
        sleep 0.05
        printf 'X' | dd of="$tar" bs=1 seek=$(($(stat -c %s "$tar") - 100)) conv=notrunc status=none
        [ "$(stat -c %s "$tar")" = "$(stat -c %s "$WORK/good.tar")" ] || die "dd changed the size"
        ;;
    esac
    sync
    echo 3 >/proc/sys/vm/drop_caches
    local blk
    for blk in "$first" "$last"; do
        if dd if="$img" iflag=direct bs=4096 skip=$((start / 8 + blk)) count=1 of=/dev/null status=none 2>"$WORK/err"; then
            die "$how: reading b's block $blk through $img succeeded after the archive changed"
        fi
        grep -q "Input/output error" "$WORK/err" || die "$how: reading b's block $blk failed with: $(cat "$WORK/err")"
    done
    # The disk's own metadata still reads; b through a fresh kernel mount fails.
    dd if="$img" iflag=direct bs=4096 count=1 of=/dev/null status=none || die "$how: the GPT no longer reads"
    kernel_mount "$img"
    if cat "$WORK/kernel/a" >/dev/null 2>&1; then die "$how: a (in the changed archive) still reads"; fi
    if cat "$WORK/kernel/b" >/dev/null 2>"$WORK/err"; then die "$how: reading b through the kernel succeeded"; fi
    grep -q "Input/output error" "$WORK/err" || die "$how: reading b through the kernel failed with: $(cat "$WORK/err")"
    [ -e "$WORK/kernel/b" ] || die "$how: b vanished from the directory"
    kernel_unmount
    grep -qF "tar archive $tar changed since the mount" "$WORK/vdiskfs.log" ||
        die "$how: no log line names the changed archive: $(cat "$WORK/vdiskfs.log")"
    mountpoint -q "$WORK/mnt" || die "$how: the mount went away"
    kill -0 "$MOUNT_PID" || die "$how: the daemon died"
    unmount_fg "$WORK/mnt"
    echo "ok: $how: EIO on b's blocks, logged, metadata still reads, daemon stayed up"
}
changed_test appended append
changed_test overwritten overwrite

echo "PASS tar_errors_test"
