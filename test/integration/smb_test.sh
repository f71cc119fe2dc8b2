#!/bin/bash
# SMB shares as sources (#16), against samba's smbd on loopback
# (smb_server.sh): a guest share, and a share for a user with a password
# given by --credentials FILE. The kernel's ext4 of each mounted disk must
# equal the share: the same names (UTF-8, spaces, '%', '#'), types, sizes
# and bytes, with the documented defaults for what SMB does not carry
# (owner 0:0, folders 0755, files 0644, 0444 with the read-only attribute,
# no symlinks: the server follows them, no hard links) and mtimes to SMB's
# 100 ns; the log says once what the protocol does not carry. Refused with
# clear messages that never hold a password: a wrong password, a
# credentials file of mode 0644, guests on the password share, a share
# that does not exist. Faults: a server that stops answering gives EIO
# within the timeout and the daemon stays up; after the server is killed
# and started again, the same mount reads again, the right bytes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/smb_server.sh"
require_root
for t in "fusermount3 fuse3" "partx util-linux" "losetup mount" "e2fsck e2fsprogs" "debugfs e2fsprogs" \
         "python3 python3" "$VDISKFS vdiskfs(build)"; do require $t; done
make_work
# libsmbclient 4.17 leaks its log file name (debug_set_logfile) once per
# context it makes: not vdiskfs's to free, so not a finding of the
# sanitizer build. LSan's fast unwinding stops in libtalloc (no frame
# pointers), so the suppression names that library: only samba's code
# allocates through talloc here.
echo "leak:libtalloc.so" >"$WORK/lsan.supp"
export LSAN_OPTIONS="$LSAN_OPTIONS:suppressions=$WORK/lsan.supp:print_suppressions=0"

PASSWORD="Pa55-$VDISKFS_TEST_SEED-s3cret"
WRONG="Wr0ng-$VDISKFS_TEST_SEED-guess"
USER_NAME=vdtest

# make_share DIR: the tree a share serves.
make_share() {
    local d=$1
    mkdir -p "$d/a/b/c/d" "$d/empty folder" "$d/ü/名前 フォルダ"
    : >"$d/empty.txt"
    printf x >"$d/one byte"
    random_bytes 4095 >"$d/a/4095.bin"
    random_bytes 4096 >"$d/a/b/4096.bin"
    random_bytes 4097 >"$d/a/b/c/4097.bin"
    random_bytes $((5 * 1024 * 1024 + 123)) >"$d/big.bin"
    random_bytes 300000 >"$d/ü/名前 フォルダ/データ.bin"
    echo deep >"$d/a/b/c/d/deep.txt"
    echo dot >"$d/.hidden"
    echo text >"$d/with space & 100%#;=+,.txt"
    echo emoji >"$d/emoji 😀.txt"
    echo ro >"$d/read-only.txt"
    chmod 444 "$d/read-only.txt"
    ln "$d/one byte" "$d/hard link"
    ln -s big.bin "$d/link to big.bin"
    touch -d '2021-02-03 04:05:06.123456789' "$d/a/4095.bin"
    touch -d '1999-12-31 23:59:59.987654321' "$d/a/b/c/d" "$d/empty folder"
}

# listing ROOT expected|disk: one line per entry (path, type, size, SHA-256,
# mode, owner, mtime in ns). expected: what the disk must show for a share
# of ROOT (symlinks followed as the server does, modes and owners the
# defaults, mtimes cut to 100 ns); disk: what ROOT (the kernel's ext4)
# shows, lost+found aside, failing on a symlink or a file of several links.
listing() {
    python3 - "$1" "$2" <<'PY'
import hashlib, os, stat, sys
root, kind = sys.argv[1], sys.argv[2]
def line(rel, st, path):
    if stat.S_ISDIR(st.st_mode):
        typ, size, digest = "d", 0, "-"
    elif stat.S_ISREG(st.st_mode):
        typ, size = "f", st.st_size
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    else:
        sys.exit(f"{path}: neither a folder nor a regular file (mode {st.st_mode:o})")
    if kind == "expected":
        mode = 0o755 if typ == "d" else 0o644 if st.st_mode & stat.S_IWUSR else 0o444
        owner, mtime = "0:0", st.st_mtime_ns // 100 * 100
    else:
        if typ == "f" and st.st_nlink != 1:
            sys.exit(f"{path}: {st.st_nlink} links (SMB carries none)")
        mode, owner, mtime = stat.S_IMODE(st.st_mode), f"{st.st_uid}:{st.st_gid}", st.st_mtime_ns
    print(f"{rel}|{typ}|{size}|{digest}|{mode:o}|{owner}|{mtime}")
def walk(rel):
    path = os.path.join(root, rel)
    st = os.stat(path) if kind == "expected" else os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        sys.exit(f"{path}: a symlink (SMB shows none)")
    line(rel or ".", st, path)
    if stat.S_ISDIR(st.st_mode):
        for name in sorted(os.listdir(path)):
            if not (rel == "" and name == "lost+found" and kind == "disk"):
                walk(os.path.join(rel, name))
walk("")
PY
}

# check_share NAME MOUNTPOINT DIR: the ext4 of MOUNTPOINT/NAME.img equals
# the share of DIR.
check_share() {
    local name=$1 mp=$2 dir=$3
    listing "$dir" expected >"$WORK/$name.expected" || die "cannot list $dir"
    mkdir -p "$WORK/k-$name"
    kernel_mount --fsck "$mp/$name.img" "$WORK/k-$name"
    listing "$KDIR" disk >"$WORK/$name.disk" || die "cannot list the disk of share $name"
    kernel_unmount
    diff "$WORK/$name.expected" "$WORK/$name.disk" >&2 ||
        die "the disk of share $name differs from the share (expected < > disk)"
    echo "ok: share $name: $(wc -l <"$WORK/$name.disk") entries equal (names, types, sizes, bytes, defaults, mtimes)"
}

# no_password FILE...: none of FILEs holds the password or the wrong one.
no_password() {
    local f
    for f in "$@"; do
        [ -e "$f" ] || continue
        ! grep -qaF -e "$PASSWORD" -e "$WRONG" "$f" || die "$f holds a password"
    done
}

mkdir -p "$WORK/smb" "$WORK/mnt"
make_share "$WORK/guest"
make_share "$WORK/secure"
smb_start "$WORK/smb" "$WORK/guest" "$WORK/secure" "$USER_NAME" <<<"$PASSWORD"
base="smb://127.0.0.1:$SMB_PORT"

printf 'username = %s\npassword = %s\n' "$USER_NAME" "$PASSWORD" >"$WORK/credentials"
chmod 600 "$WORK/credentials"
printf 'username = %s\npassword = %s\n' "$USER_NAME" "$WRONG" >"$WORK/wrong"
chmod 600 "$WORK/wrong"
install -m 644 "$WORK/credentials" "$WORK/open-to-all"

# The guest share, then the password share through --credentials.
mount_fg "$base/guest" "$WORK/mnt" --log "$WORK/guest.log"
grep -qF "does not carry owners, modes, symlinks and hard links" "$WORK/guest.log" ||
    die "the log does not say what SMB does not carry: $(cat "$WORK/guest.log")"
check_share guest "$WORK/mnt" "$WORK/guest"
unmount_fg "$WORK/mnt"

mount_fg "$base/secure" "$WORK/mnt" --credentials "$WORK/credentials" --log "$WORK/secure.log"
grep -qaF -e "$PASSWORD" "/proc/$MOUNT_PID/cmdline" && die "the daemon's command line holds the password"
check_share secure "$WORK/mnt" "$WORK/secure"
unmount_fg "$WORK/mnt"

# The environment instead of a file; the URL's user wins over it for the name.
export VDISKFS_SMB_USER=nobody-here VDISKFS_SMB_PASSWORD=$PASSWORD
expect_status 0 "" "$VDISKFS" info --quiet "smb://$USER_NAME@127.0.0.1:$SMB_PORT/secure"
unset VDISKFS_SMB_USER VDISKFS_SMB_PASSWORD

# Refusals, each clear and without a password.
expect_status $EXIT_REFUSED "refused the logon of user '$USER_NAME': wrong user name or password" \
    "$VDISKFS" info --quiet "$base/secure" --credentials "$WORK/wrong"
grep -qF "$base/secure" <<<"$OUT" || die "the refusal does not name the URL: $OUT"
! grep -qF -e "$WRONG" -e "$PASSWORD" <<<"$OUT" || die "the refusal shows a password: $OUT"
expect_status $EXIT_REFUSED "has mode 0644" "$VDISKFS" info --quiet "$base/secure" --credentials "$WORK/open-to-all"
grep -qF "chmod 600 $WORK/open-to-all" <<<"$OUT" || die "the refusal does not say chmod 600: $OUT"
! grep -qF "$PASSWORD" <<<"$OUT" || die "the refusal shows the password: $OUT"
expect_status $EXIT_REFUSED "share 'secure' refuses guests" "$VDISKFS" info --quiet "$base/secure"
expect_status $EXIT_REFUSED "has no share named 'nope'" "$VDISKFS" info --quiet "$base/nope"
expect_status $EXIT_REFUSED "share 'guest' has no 'no/such/folder'" "$VDISKFS" info --quiet "$base/guest/no/such/folder"

# Faults, on a fresh mount (nothing of big.bin read yet): where big.bin's
# block 300 lies in the disk image, read with O_DIRECT so that each read
# reaches vdiskfs.
timeout=5
mount_fg "$base/guest" "$WORK/mnt" --timeout $timeout --log "$WORK/fault.log"
img=$WORK/mnt/guest.img
dev=$(attach_partition "$img")
block=$(debugfs -R "bmap /big.bin 300" "$dev" 2>/dev/null)
detach "$dev"
[[ $block =~ ^[0-9]+$ ]] || die "debugfs bmap /big.bin 300 said '$block'"
start=$(partx -g -n 1 -o START "$img" | tr -d ' ')
offset=$((start * 512 + block * 4096))
read_piece() {
    dd if="$img" of="$WORK/piece" bs=4096 count=1 skip=$offset iflag=direct,skip_bytes status=none 2>"$WORK/dd.err"
}

smb_pause
began=$(date +%s%N)
read_piece && die "a read succeeded while the server did not answer"
waited=$((($(date +%s%N) - began) / 1000000))
grep -qF "Input/output error" "$WORK/dd.err" || die "the read failed otherwise than with EIO: $(cat "$WORK/dd.err")"
# One wait for the answer, and at most one for another call's.
[ $waited -ge $(((timeout - 1) * 1000)) ] && [ $waited -le $((2 * timeout * 1000 + 3000)) ] ||
    die "EIO came after $waited ms, not within the --timeout of $timeout s"
kill -0 "$MOUNT_PID" 2>/dev/null || die "the daemon died when the server stopped answering"
grep -qF "timed out after $timeout s" "$WORK/fault.log" || die "no log line says the read timed out"
echo "ok: EIO after $waited ms with the server stopped (--timeout $timeout), the daemon still up"

smb_kill
smb_start "$WORK/smb" "$WORK/guest" "$WORK/secure" "$USER_NAME" <<<"$PASSWORD"
read_piece || die "the read failed after the server came back: $(cat "$WORK/dd.err")"
dd if="$WORK/guest/big.bin" of="$WORK/piece.expected" bs=4096 skip=300 count=1 status=none
cmp "$WORK/piece" "$WORK/piece.expected" || die "the read after the restart gave other bytes than big.bin's block 300"
kill -0 "$MOUNT_PID" 2>/dev/null || die "the daemon died"
echo "ok: after the server restarted, the same mount reads big.bin's bytes again"
unmount_fg "$WORK/mnt"

no_password "$WORK"/*.log "$WORK/smb/smbd.log"
echo "ok: no log holds a password"
smb_stop
echo "PASS"
