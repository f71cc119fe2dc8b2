#!/usr/bin/env bash
# gen_tree.sh KIND DIR — create DIR (which must not exist) and fill it with a test tree.
#
#   small     every entry type, odd sizes, sparse file, deep/wide dirs, odd names,
#             symlinks, hard links, devices, special modes/owners, ns timestamps (a few MB)
#   full      small + 128 MiB±1 files, a 5 GiB sparse file, a 10,000-entry directory
#             and a 200 MiB file of distinct 4 KiB blocks
#   many N    N small files (0–3000 bytes) in directories of 1000 files (benchmarks)
#
# small/full need `treetool` on PATH and must run as root (chown, mknod).
# Random contents are drawn from a stream seeded with $VDISKFS_TEST_SEED (the
# tests' lib.sh exports its seed, and prints it; run alone, as by bench/,
# a fresh seed if unset, printed on stderr, so a failing tree can be remade).
set -euo pipefail

export LC_ALL=C TZ=UTC
umask 022

readonly MiB=$((1024 * 1024))
readonly GiB=$((1024 * MiB))

# Prints an error and exits.
die() {
    echo "gen_tree.sh: $*" >&2
    exit 1
}

# Prints usage and exits.
usage() {
    die "usage: gen_tree.sh {small|full|many N} DIR"
}

# Fails unless running as root (needed for chown and mknod).
require_root() {
    [[ $(id -u) -eq 0 ]] || die "kind '$1' needs root (chown, mknod); run as root"
}

# Fails unless treetool is on PATH.
require_treetool() {
    command -v treetool >/dev/null || die "treetool not found on PATH (add the build directory to PATH)"
}

# Random contents come from one seeded stream (Python's Mersenne Twister,
# started by start_random_stream), read in order: the same seed and the
# same script give the same tree. head -c reads no more than it writes.
RANDOM_FD=
RANDOM_PID=

# Starts the stream on RANDOM_FD with the seed $VDISKFS_TEST_SEED, or a
# fresh one, which it prints (a given seed was printed by who gave it).
start_random_stream() {
    # /dev/urandom only for a fresh seed (a new one each run is the point).
    local seed=${VDISKFS_TEST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
    [[ $seed =~ ^[0-9]+$ ]] || die "VDISKFS_TEST_SEED=$seed is not a number"
    command -v python3 >/dev/null || die "python3 is missing: install python3"
    exec {RANDOM_FD}< <(python3 -c '
import os, random, sys
r = random.Random(int(sys.argv[1]))
try:
    while True:
        sys.stdout.buffer.write(r.randbytes(1 << 20))
except BrokenPipeError:  # gen_tree.sh is done
    os._exit(0)
' "$seed")
    RANDOM_PID=$!
    [ -n "${VDISKFS_TEST_SEED:-}" ] ||
        echo "gen_tree.sh: random contents from seed $seed (VDISKFS_TEST_SEED=$seed gives the same)" >&2
}

# Fails unless the stream still flows (so no random content came out
# short), then ends it.
end_random_stream() {
    [[ $(head -c 1 <&"$RANDOM_FD" | wc -c) -eq 1 ]] ||
        die "the random stream (python3) ended early: some random contents are short"
    exec {RANDOM_FD}<&-
    wait "$RANDOM_PID" || die "the random stream (python3) failed"
}

# Writes LEN random bytes to a new FILE.
random_file() {
    head -c "$2" <&"$RANDOM_FD" >"$1"
}

# Overwrites LEN bytes at byte offset OFF of FILE with random data (no truncation).
random_at() {
    local file=$1 off=$2 len=$3
    head -c "$len" <&"$RANDOM_FD" | dd of="$file" bs=1M seek="$off" oflag=seek_bytes conv=notrunc status=none
}

# Prints a string made of COUNT copies of STR.
repeat() {
    local out
    printf -v out "%${2}s" ''
    printf '%s' "${out// /$1}"
}

# Sets mtime and atime of a file or directory from date strings (touch -d syntax).
stamp() {
    local path=$1 mtime=$2 atime=${3:-$2}
    touch -m -d "$mtime" -- "$path"
    touch -a -d "$atime" -- "$path"
}

# --- small ------------------------------------------------------------------

# Regular files around the 4 KiB block boundary, plus an empty one.
make_sized_files() {
    local d=$1/sizes
    mkdir "$d"
    : >"$d/empty"
    random_file "$d/r4095" 4095
    random_file "$d/r4096" 4096
    random_file "$d/r4097" 4097
    stamp "$d/empty" '2001-02-03 04:05:06.123456789' '2002-03-04 05:06:07.987654321'
    stamp "$d/r4095" '1960-01-01 00:00:00.25' '1969-12-31 23:59:59.999999999'
    stamp "$d/r4096" '2100-06-07 12:00:00.5' '2038-01-19 03:14:08.000000001'
    stamp "$d/r4097" '2024-02-29 23:59:59.000000001'
}

# A 64 MiB sparse file with a few random chunks at unaligned offsets.
make_sparse_small() {
    local f=$1/sparse64m
    truncate -s $((64 * MiB)) "$f"
    random_at "$f" 0 1
    random_at "$f" $((10 * MiB + 123)) 5000
    random_at "$f" $((32 * MiB)) 4096
    random_at "$f" $((64 * MiB - 10)) 10
    stamp "$f" '2010-10-10 10:10:10.101010101' '2011-11-11 11:11:11.111111111'
}

# A directory with 300 small files.
make_wide_dir() {
    local d=$1/wide300 i
    mkdir "$d"
    for ((i = 0; i < 300; i++)); do
        printf 'entry %d\n' "$i" >"$d/e$i"
    done
}

# Nested directories d1/d2/.../d40 with a file at the bottom.
make_deep_dirs() {
    local path=$1 i
    for ((i = 1; i <= 40; i++)); do path+=/d$i; done
    mkdir -p "$path"
    echo "bottom of a 40-deep tree" >"$path/bottom.txt"
    stamp "$path/bottom.txt" '1999-12-31 23:59:59.999999999'
}

# Files with a 255-byte ASCII name, a 255-byte UTF-8 name and other UTF-8 names.
make_odd_names() {
    local d=$1/names
    mkdir "$d" "$d/Ελληνικά"
    echo ascii >"$d/$(repeat L 251).txt"
    echo utf8 >"$d/$(repeat 日 85)"  # 85 × 3 bytes = 255 bytes
    echo hello >"$d/übung-日本語-🙂.txt"
    echo inner >"$d/Ελληνικά/αρχείο"
    echo spaces >"$d/ name with  spaces "
    echo newline >"$d/new"$'\n'"line"
}

# Symlinks: short, 59/60/61-byte targets, long dangling, dangling, to dir, outside the tree.
make_symlinks() {
    local d=$1/links
    mkdir "$d" "$d/dir"
    echo target >"$d/target.txt"
    ln -s target.txt "$d/short"
    ln -s "$(repeat a 59)" "$d/len59"
    ln -s "$(repeat b 60)" "$d/len60"
    ln -s "$(repeat c 61)" "$d/len61"
    ln -s "nowhere/$(repeat x 992)" "$d/long1000"
    ln -s does-not-exist "$d/dangling"
    ln -s dir "$d/to-dir"
    ln -s /etc/passwd "$d/outside"
    ln -s ../../.. "$d/up3"
    chown -h 1234:5678 "$d/short"
    treetool settime "$d/short" 981173106 123456789
    treetool settime "$d/len60" -315619200 250000000
    treetool settime "$d/long1000" 4116052800 500000000
    treetool settime "$d/up3" 1234567890 1
}

# Hard links across directories: one inode with 3 names, one with 2.
make_hard_links() {
    local d=$1/hard
    mkdir -p "$d/a" "$d/b" "$d/c"
    random_file "$d/a/three" 10000
    ln "$d/a/three" "$d/b/three-2"
    ln "$d/a/three" "$d/c/three-3"
    echo "two links" >"$d/a/two"
    ln "$d/a/two" "$d/c/two-2"
    stamp "$d/a/three" '2003-03-03 03:03:03.333333333'
}

# A fifo, a unix socket, a character device and a block device.
make_special_files() {
    local d=$1/special
    mkdir "$d"
    mkfifo "$d/fifo"
    treetool mksock "$d/socket"
    mknod "$d/null-like" c 1 3
    mknod "$d/loop200" b 7 200
    chown 1234:5678 "$d/fifo"
    chmod 0640 "$d/fifo"
    treetool settime "$d/fifo" 1000000000 999999999
    treetool settime "$d/socket" 1500000000 123
    treetool settime "$d/null-like" 1600000000 456000000
}

# Special permission bits and non-root owners (chown before chmod: chown clears setuid).
make_modes_and_owners() {
    local d=$1/modes
    mkdir "$d" "$d/sticky" "$d/setgid-dir" "$d/private-dir"
    local f
    for f in setuid setgid none rw-owner owned-1234 owned-nobody owned-big; do
        echo "$f" >"$d/$f"
    done
    chown 1234:5678 "$d/owned-1234" "$d/setuid"
    chown 65534:65534 "$d/owned-nobody"
    chown 100000:200000 "$d/owned-big" "$d/private-dir"
    chmod 4755 "$d/setuid"
    chmod 2755 "$d/setgid"
    chmod 0000 "$d/none"
    chmod 0600 "$d/rw-owner"
    chmod 1777 "$d/sticky"
    chmod 2775 "$d/setgid-dir"
    chmod 0750 "$d/private-dir"
    echo secret >"$d/private-dir/file"
    chown 100000:200000 "$d/private-dir/file"
}

# An empty directory.
make_empty_dir() {
    mkdir "$1/empty-dir"
}

# Gives every directory distinct nanosecond times, bottom-up (children change a
# directory's mtime, so this must run after everything else).
stamp_dirs() {
    local dirs dir i=0
    mapfile -d '' dirs < <(find "$1" -depth -type d -print0)
    for dir in "${dirs[@]}"; do
        i=$((i + 1))
        touch -m -d "@$((1300000000 + i * 86400)).$(printf '%09d' $((i * 7654321 % 1000000000)))" -- "$dir"
        touch -a -d "@$((1400000000 + i * 3600)).$(printf '%09d' $((i * 1234567 % 1000000000)))" -- "$dir"
    done
}

# Extended attributes: a file capability (what ping needs on a restored
# system), user attributes small enough for the inode, sets that need
# ext4's xattr block, and POSIX ACLs.
make_xattrs() {
    local d=$1/xattrs
    command -v setcap >/dev/null || die "setcap is missing: install libcap2-bin"
    command -v setfattr >/dev/null || die "setfattr is missing: install attr"
    mkdir "$d"
    random_file "$d/cap-binary" 5000
    setcap cap_net_raw+ep "$d/cap-binary"
    echo "note" >"$d/commented"
    setfattr -n user.comment -v "restored from backup" "$d/commented"
    setfattr -n user.origin -v "web01" "$d/commented"
    mkdir "$d/dir-with-attr"
    setfattr -n user.tag -v "d" "$d/dir-with-attr"
    # More than the inode holds: ext4 needs an xattr block for these.
    echo "large" >"$d/large-attrs"
    setfattr -n user.description -v "$(printf 'line %04d of a long description. ' $(seq 1 60))" "$d/large-attrs"
    setfattr -n user.binary -v 0x00ff10e2000000407f80c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9dae0f1 "$d/large-attrs"
    setfattr -n user.sha256 -v "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" "$d/large-attrs"
    setfattr -n user.notes -v "$(printf 'note %03d; ' $(seq 1 80))" "$d/dir-with-attr"
    # POSIX ACLs: a file's access ACL, a directory's default ACL.
    command -v setfacl >/dev/null || die "setfacl is missing: install acl"
    echo "shared" >"$d/acl-file"
    setfacl -m u:1000:r--,g:2000:rw- "$d/acl-file"
    mkdir "$d/acl-dir"
    setfacl -m u:1001:rwx -d -m u:1000:rwx,g:2000:r-x "$d/acl-dir"
    stamp "$d/cap-binary" '2019-05-06 07:08:09.101112131'
}

# Fills DIR with the small tree (without directory times).
fill_small() {
    make_sized_files "$1"
    make_sparse_small "$1"
    make_wide_dir "$1"
    make_deep_dirs "$1"
    make_odd_names "$1"
    make_symlinks "$1"
    make_hard_links "$1"
    make_special_files "$1"
    make_modes_and_owners "$1"
    make_empty_dir "$1"
    make_xattrs "$1"
}

# --- full -------------------------------------------------------------------

# Random files of 128 MiB - 1, 128 MiB and 128 MiB + 1 bytes.
make_big_files() {
    local d=$1/big
    mkdir "$d"
    random_file "$d/128m+1" $((128 * MiB + 1))
    head -c $((128 * MiB)) "$d/128m+1" >"$d/128m"
    head -c $((128 * MiB - 1)) "$d/128m+1" >"$d/128m-1"
    stamp "$d/128m" '2020-01-01 00:00:00.000000001'
}

# A 5 GiB sparse file with random chunks at 0, 1 GiB+12345, 3 GiB (1 MiB) and the end.
make_sparse_big() {
    local f=$1/sparse5g
    truncate -s $((5 * GiB)) "$f"
    random_at "$f" 0 65536
    random_at "$f" $((GiB + 12345)) 7777
    random_at "$f" $((3 * GiB)) "$MiB"
    random_at "$f" $((5 * GiB - 100)) 100
}

# Files that need an extent tree: 2000 chunks (depth 2: more than 4 x 340
# extents) and a 1 TiB sparse file with data at both ends.
make_fragmented() {
    treetool mksparse "$1/fragmented2000" $((2000 * MiB + 77)) 2000 "$MiB"
    truncate -s $((1024 * GiB)) "$1/sparse1t"
    random_at "$1/sparse1t" 4096 4096
    random_at "$1/sparse1t" $((1024 * GiB - 5000)) 5000
}

# A directory of 10,000 entries: mostly empty files with names of varied length,
# every 30th file with small random content.
make_huge_dir() {
    local d=$1/dir10k i name pad
    mkdir "$d"
    pad=$(repeat p 240)
    for ((i = 0; i < 10000; i++)); do
        name="f$i-${pad:0:$((i * 37 % 240))}"
        if ((i % 30 == 0)); then
            random_file "$d/$name" $((i % 5000))
        else
            : >"$d/$name"
        fi
    done
}

# A 200 MiB dense file of random (hence distinct) 4 KiB blocks.
make_dense_blocks() {
    random_file "$1/dense200m" $((200 * MiB))
}

# Fills DIR with the full tree (without directory times).
fill_full() {
    fill_small "$1"
    make_big_files "$1"
    make_sparse_big "$1"
    make_fragmented "$1"
    make_huge_dir "$1"
    make_dense_blocks "$1"
}

# --- many -------------------------------------------------------------------

# N small files of 0–3000 bytes, 1000 per directory, written with shell builtins only.
fill_many() {
    local root=$1 count=$2 i len off dir=
    local blob
    blob=$(head -c 6000 <&"$RANDOM_FD" | base64 -w0)  # 8000 printable bytes
    RANDOM=42
    for ((i = 0; i < count; i++)); do
        if ((i % 1000 == 0)); then
            dir=$root/dir$((i / 1000))
            mkdir "$dir"
        fi
        len=$((RANDOM % 3001))
        off=$((RANDOM % (8000 - len)))
        printf '%s' "${blob:off:len}" >"$dir/file$i"
    done
}

# --- main -------------------------------------------------------------------

# Parses arguments, creates DIR and fills it.
main() {
    local kind=${1:-} dir count=0
    case $kind in
    small | full)
        [[ $# -eq 2 ]] || usage
        dir=$2
        require_root "$kind"
        require_treetool
        ;;
    many)
        [[ $# -eq 3 && $2 =~ ^[0-9]+$ ]] || usage
        count=$2
        dir=$3
        ;;
    *) usage ;;
    esac
    [[ -e $dir || -L $dir ]] && die "$dir already exists"
    start_random_stream
    mkdir -- "$dir"
    case $kind in
    small) fill_small "$dir" ;;
    full) fill_full "$dir" ;;
    many) fill_many "$dir" "$count" ;;
    esac
    [[ $kind == many ]] || stamp_dirs "$dir"
    end_random_stream
}

main "$@"
