#!/bin/bash
# remote_bench.sh [--no-record] [MIB]: shares as sources (#16), in one run on
# one tree of about MIB MiB (default 512): 16 large files and 2000 files of
# 64 KiB, exported by nfs-ganesha (NFSv4) and samba's smbd on loopback
# (test/integration/nfs_server.sh, smb_server.sh).
#   baseline: every file of the tree read by the protocol's own client,
#             nfs-cat (libnfs-utils) per file / smbclient mget;
#   vdiskfs:  the whole .img of a `vdiskfs mount URL --direct-io` read with
#             dd (the files' data, the metadata, and the free space as
#             zeros), cold (an empty block cache) then warm (the same mount
#             again: from the memory cache);
#   ratio:    baseline seconds / vdiskfs seconds (the aim: 0.8 or better).
# With DELAY_MS=N (default 2), the cold reads run again with `tc netem`
# adding N ms to every loopback packet, to show what the cache saves when
# the server is far. Run as root after building into build/.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
MIB=${1:-512}
: "${DELAY_MS:=2}"
TESTS_DIR=$REPO/test/integration
# shellcheck source=/dev/null
source "$TESTS_DIR/lib.sh"
source "$TESTS_DIR/nfs_server.sh"
source "$TESTS_DIR/smb_server.sh"
for t in "nfs-cat libnfs-utils" "smbclient smbclient" "tc iproute2" "dd coreutils"; do require $t; done
mkdir -p "$BENCH_CACHE"
B=$(mktemp -d "$BENCH_CACHE/remote-bench.XXXXXX")
netem=0
finish() {
    set +e
    [ "$netem" = 1 ] && tc qdisc del dev lo root 2>/dev/null
    [ -n "$BENCH_MP" ] && bench_unmount
    nfs_stop
    smb_stop
    rm -rf "$B"
}
trap finish EXIT

tree=$B/tree
mkdir -p "$tree/big" "$tree/small" "$B/mnt" "$B/get"
for ((i = 0; i < 16; i++)); do head -c $((MIB * 1024 * 1024 * 3 / 4 / 16)) /dev/urandom >"$tree/big/f$i"; done
for ((i = 0; i < 2000; i++)); do head -c 65536 /dev/urandom >"$tree/small/s$i"; done
data_mib=$(( $(du -sk "$tree" | cut -f1) / 1024 ))
nfs_start "$B/nfs" "$tree"
mkdir -p "$B/smb"
smb_start "$B/smb" "$tree" "$tree" bench >/dev/null <<<"vdiskfs-bench"  # not in a pipe: it sets SMB_PORT

now() { date +%s.%N; }
secs() { echo "$(now) - $1" | bc; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }

nfs_baseline() {
    local t0 f
    drop
    t0=$(now)
    while IFS= read -r f; do nfs-cat "$(nfs_url "$f" 4)" >/dev/null || exit 1; done < <(find "$tree" -type f)
    secs "$t0"
}
smb_baseline() {
    local t0
    drop
    rm -rf "$B/get"/*
    t0=$(now)
    smbclient -p "$SMB_PORT" -N //127.0.0.1/guest -c "recurse ON; prompt OFF; lcd $B/get; mget *" >/dev/null 2>&1 ||
        { echo "smbclient mget failed" >&2; exit 1; }
    [ "$(du -sm "$B/get" | cut -f1)" -ge $((data_mib * 9 / 10)) ] || { echo "smbclient mget copied too little" >&2; exit 1; }
    secs "$t0"
}
# vdiskfs_read URL: "cold warm" seconds for the whole .img, one mount.
vdiskfs_read() {
    local t0 cold warm
    drop
    bench_mount "$B/mnt" "$1" disk --read-only --direct-io --formats img --cache-size $((MIB * 2))M
    t0=$(now)
    dd if="$B/mnt/disk.img" of=/dev/null bs=4M status=none
    cold=$(secs "$t0")
    t0=$(now)
    dd if="$B/mnt/disk.img" of=/dev/null bs=4M status=none
    warm=$(secs "$t0")
    bench_unmount
    echo "$cold $warm"
}

nfs_url_root=$(nfs_url "$tree" 4)
smb_url_root="smb://127.0.0.1:$SMB_PORT/guest"
nb=$(nfs_baseline)
read -r nc nw <<<"$(vdiskfs_read "$nfs_url_root")"
sb=$(smb_baseline)
read -r sc sw <<<"$(vdiskfs_read "$smb_url_root")"
# The far server: netem (the kernel's sch_netem) where this kernel has it.
nbd="" ncd="" nwd=""
if tc qdisc add dev lo root netem delay "${DELAY_MS}ms" 2>/dev/null; then
    netem=1
    nbd=$(nfs_baseline)
    read -r ncd nwd <<<"$(vdiskfs_read "$nfs_url_root")"
    tc qdisc del dev lo root && netem=0
else
    echo "tc netem is not available on this kernel (sch_netem): the row with a delay is left out" >&2
fi
ratio() { echo "scale=2; $1 / $2" | bc; }
rows="| NFSv4 | $nb | $nc | $nw | $(ratio "$nb" "$nc") | $(ratio "$nc" "$nw") |
| SMB (guest) | $sb | $sc | $sw | $(ratio "$sb" "$sc") | $(ratio "$sc" "$sw") |"
[ -z "$ncd" ] || rows+="
| NFSv4, ${DELAY_MS} ms netem | $nbd | $ncd | $nwd | $(ratio "$nbd" "$ncd") | $(ratio "$ncd" "$nwd") |"
record_block "## $(date -u '+%Y-%m-%d %H:%M UTC') — remote_bench.sh

- command: \`bash bench/remote_bench.sh $MIB\` (DELAY_MS=$DELAY_MS)
- machine: $(machine_line)
- tree: $data_mib MiB (16 large files, 2000 × 64 KiB) exported by nfs-ganesha and smbd on loopback
- baseline: each file read with nfs-cat / smbclient mget; vdiskfs: the whole .img (data, metadata, free space as zeros) with dd through \`vdiskfs mount URL --direct-io\`, cold cache then warm; page caches dropped first

| share | baseline s | vdiskfs cold s | vdiskfs warm s | baseline / cold (aim ≥ 0.8) | cold / warm |
|---|---:|---:|---:|---:|---:|
$rows"
