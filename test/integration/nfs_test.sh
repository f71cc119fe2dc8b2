#!/bin/bash
# NFS shares as sources (#16), against nfs-ganesha on loopback
# (nfs_server.sh), over NFSv3 and NFSv4 (libnfs 4.0 speaks 4.0). The
# kernel's ext4 of the mounted disk must equal the exported tree (treetool
# compare: content, modes, owners, nanosecond mtimes, symlinks, hard links,
# special files), with what each version cannot carry said in the log and
# nowhere else different; a tar archive on the export (nfs://.../backup.tar)
# must give the same tree. Refused with clear messages naming the URL: a
# path that does not exist, a server that does not listen. Faults: a server
# that stops answering gives EIO within --timeout, a killed one at once,
# and the daemon stays up; after the server comes back (or restarts), the
# same mount reads the right bytes again, and again after its NFSv4 lease
# expired while idle. The export is never written.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nfs_server.sh"
require_root
for t in "fusermount3 fuse3" "partx util-linux" "losetup mount" "e2fsck e2fsprogs" "debugfs e2fsprogs" \
         "tar tar" "python3 python3" "$TREETOOL treetool(build)" "$VDISKFS vdiskfs(build)"; do
    require $t
done
make_work
# libnfs 4.0's nfs4_set_client_name drops the name it replaces without
# freeing it (NfsShare names each NFSv4 client: 30 bytes per connection):
# not vdiskfs's to free, so not a finding of the sanitizer build.
echo "leak:nfs4_set_client_name" >"$WORK/lsan.supp"
export LSAN_OPTIONS="$LSAN_OPTIONS:suppressions=$WORK/lsan.supp:print_suppressions=0"

# content_sum DIR: names, types, modes, owners, sizes, mtimes and bytes of
# everything under DIR (not atimes: the server may move them).
content_sum() {
    (cd "$1" && find . -printf '%p %y %m %U:%G %s %T@ %l\n' | sort &&
        find . -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum
}

# compare_disk IMAGE REF [ALLOWED]: the kernel's ext4 of IMAGE equals the
# tree REF; ALLOWED is a regular expression of treetool's DIFF lines that
# the protocol explains (the caller checks the log says why).
compare_disk() {
    local img=$1 ref=$2 allowed=${3:-} out rc=0 left
    kernel_mount --fsck "$img"
    out=$("$TREETOOL" compare "$ref" "$KDIR" --ignore lost+found) || rc=$?
    kernel_unmount
    if [ $rc -ne 0 ]; then
        left=$(grep '^DIFF' <<<"$out" | { [ -n "$allowed" ] && grep -vE "$allowed" || cat; })
        [ -z "$left" ] && grep -q "^DIFF" <<<"$out" || die "the disk of $img differs from $ref: $out"
        echo "allowed differences: $(grep -c '^DIFF' <<<"$out")"
    fi
    echo "ok: $img equals $ref ($(tail -1 <<<"$out"))"
}

mkdir -p "$WORK/export" "$WORK/nfs" "$WORK/mnt" "$WORK/kernel"
bash "$TESTS_DIR/gen_tree.sh" small "$WORK/export/tree"
random_bytes $((6 * 1024 * 1024 + 321)) >"$WORK/export/tree/big.bin"
tree=$WORK/export/tree
# A short NFSv4 lease, so that the test sees one expire (libnfs 4.0 never
# renews it).
NFS_LEASE_SECONDS=10 nfs_start "$WORK/nfs" "$WORK/export"
before=$(content_sum "$WORK/export")

# NFSv3 carries device numbers but times as unsigned 32-bit seconds: the
# tree's times before 1970 come back wrapped. libnfs 4.0's NFSv4 carries
# those times but asks for no device numbers: devices show 0,0, and the
# log says so.
v3_allowed='^DIFF (sizes/r4095|links/len60): mtime src=-'
v4_allowed='^DIFF special/(null-like|loop200): rdev src=[0-9]+:[0-9]+ dst=0:0$'
for v in 3 4; do
    url=$(nfs_url "$tree" $v)
    mount_fg "$url" "$WORK/mnt" --log "$WORK/v$v.log"
    allowed_var=v${v}_allowed
    compare_disk "$WORK/mnt/tree.img" "$tree" "${!allowed_var}"
    if [ $v = 4 ]; then
        grep -qF "device numbers" "$WORK/v4.log" || die "the NFSv4 mount's log does not say devices lose their numbers: $(cat "$WORK/v4.log")"
    fi
    unmount_fg "$WORK/mnt"
    echo "ok: NFSv$v: $url"
done

# A tar archive on the export, read in place. GNU tar cannot hold the
# socket: the reference leaves it out.
cp -a "$tree" "$WORK/tar-ref"
rm "$WORK/tar-ref/special/socket"
tar --format=posix --sparse --numeric-owner -C "$WORK/tar-ref" -cf "$WORK/export/backup.tar" . ||
    die "tar failed"
before=$(content_sum "$WORK/export")
for v in 3 4; do
    mount_fg "$(nfs_url "$WORK/export/backup.tar" $v)" "$WORK/mnt"
    compare_disk "$WORK/mnt/backup.img" "$WORK/tar-ref"
    unmount_fg "$WORK/mnt"
    echo "ok: NFSv$v: backup.tar on the export"
done

# Refusals naming the URL.
url=$(nfs_url "$WORK/export/no/such/folder" 3)
expect_status $EXIT_REFUSED "does not exist on the server" "$VDISKFS" info --quiet "$url"
grep -qF "$url" <<<"$OUT" || die "the refusal does not name the URL: $OUT"
url=$(nfs_url "$WORK/export/no/such/folder" 4)
expect_status $EXIT_REFUSED "does not exist on the server" "$VDISKFS" info --quiet "$url"
grep -qF "$url" <<<"$OUT" || die "the refusal does not name the URL: $OUT"
port=$(nfs_free_port)
url="nfs://127.0.0.1$tree?nfsport=$port&mountport=$((port + 1))"
expect_status $EXIT_REFUSED "cannot reach the NFS server: 127.0.0.1 port $((port + 1)) (MOUNT): Connection refused" \
    "$VDISKFS" info --quiet "$url"
grep -qF "$url" <<<"$OUT" || die "the refusal does not name the URL: $OUT"
url="nfs://127.0.0.1$tree?version=4&nfsport=$port"
expect_status $EXIT_REFUSED "cannot reach the NFS server: 127.0.0.1 port $port (NFS): Connection refused" \
    "$VDISKFS" info --quiet "$url"
grep -qF "$url" <<<"$OUT" || die "the refusal does not name the URL: $OUT"

# Faults, on a fresh mount (nothing of big.bin read yet): where big.bin's
# blocks lie in the disk image, read with O_DIRECT so that each read
# reaches vdiskfs. A small cache, so that every block read is fetched.
timeout=5
for v in 3 4; do
    # --readahead 128: debugfs's reads of the metadata (through a loop
    # device, the page cache of the .img) must not read ahead into big.bin.
    mount_fg "$(nfs_url "$tree" $v)" "$WORK/mnt" --timeout $timeout --cache-size 1M --readahead 128 \
        --log "$WORK/fault$v.log"
    img=$WORK/mnt/tree.img
    dev=$(attach_partition "$img")
    blocks=()
    for b in 400 900 1400; do blocks+=("$(debugfs -R "bmap /big.bin $b" "$dev" 2>/dev/null)"); done
    detach "$dev"
    for b in "${blocks[@]}"; do [[ $b =~ ^[0-9]+$ ]] || die "debugfs bmap /big.bin said '$b'"; done
    start=$(partx -g -n 1 -o START "$img" | tr -d ' ')
    # read_piece I: big.bin's block (400, 900, 1400)[I] from the disk, checked:
    # each in a cache block (1 MiB) of its own, none in the first.
    read_piece() {
        local i=$1 file_block=$((400 + 500 * $1))
        dd if="$img" of="$WORK/piece" bs=4096 count=1 skip=$((start * 512 + blocks[i] * 4096)) \
            iflag=direct,skip_bytes status=none 2>"$WORK/dd.err" || return 1
        dd if="$tree/big.bin" of="$WORK/piece.expected" bs=4096 skip=$file_block count=1 status=none
        cmp -s "$WORK/piece" "$WORK/piece.expected" || die "big.bin's block $file_block read through the disk differs"
    }
    # expect_eio I MIN_MS MAX_MS: reading piece I fails with EIO within the bounds.
    expect_eio() {
        local began waited
        began=$(date +%s%N)
        read_piece "$1" && die "a read succeeded while the server was down: $("$VDISKFS" stats "$WORK/mnt")"
        waited=$((($(date +%s%N) - began) / 1000000))
        grep -qF "Input/output error" "$WORK/dd.err" || die "the read failed otherwise than with EIO: $(cat "$WORK/dd.err")"
        [ $waited -ge "$2" ] && [ $waited -le "$3" ] || die "EIO came after $waited ms, not within $2..$3 ms"
        kill -0 "$MOUNT_PID" 2>/dev/null || die "the daemon died with the server"
        echo "ok: NFSv$v: EIO after $waited ms"
    }

    # A server that stops answering: EIO after the timeout (one wait for
    # the answer, at most one more for a new connection's).
    nfs_pause
    expect_eio 0 $(((timeout - 1) * 1000)) $((2 * timeout * 1000 + 3000))
    grep -qF "timed out after $timeout s" "$WORK/fault$v.log" || die "no log line says the read timed out: $(cat "$WORK/fault$v.log")"
    nfs_resume
    read_piece 0 || die "the read failed after the server answered again: $(cat "$WORK/dd.err")"
    echo "ok: NFSv$v: the server answers again: the same mount reads big.bin again"

    # A killed server: EIO at once (the connection breaks), not after the timeout.
    nfs_kill
    expect_eio 1 0 $((timeout * 1000))
    nfs_restart
    read_piece 2 || die "the read failed after the server restarted: $(cat "$WORK/dd.err")"
    read_piece 1 || die "the read failed after the server restarted: $(cat "$WORK/dd.err")"
    echo "ok: NFSv$v: after the server restarted, the same mount reads big.bin's bytes again"
    if [ $v = 4 ]; then
        # Idle for more than two leases: the server forgets the client; the
        # next read mounts again instead of failing.
        sleep 25
        reads=$("$VDISKFS" stats "$WORK/mnt" | awk '$1 == "remote_reads" { print $2 }')
        read_piece 0 || die "the read after an expired NFSv4 lease failed: $(cat "$WORK/dd.err")"
        [ "$("$VDISKFS" stats "$WORK/mnt" | awk '$1 == "remote_reads" { print $2 }')" -gt "$reads" ] ||
            die "the read after the lease expired did not reach the server (cached?)"
        echo "ok: NFSv4: a read from the server after the lease expired"
    fi
    unmount_fg "$WORK/mnt"
done

[ "$before" = "$(content_sum "$WORK/export")" ] || die "the export changed"
echo "ok: the export is unchanged"
nfs_stop
echo "PASS"
