#!/bin/bash
# compressed_bench.sh [--no-record] [N]: compressed tar archives read in
# place (#17), in the same run as the same tree as a plain tar. The tree of
# N small files (default 100000; gen_tree.sh many N, with the bench cache's
# copy reused) is packed once as a POSIX tar and compressed by gzip, pigz,
# pzstd, xz -T0 and bzip2. Warm page cache. Per archive:
#   decompress: seconds of `gzip -dc` (`zstd -dc`, `xz -dc`) to /dev/null;
#   ready:      seconds from `vdiskfs mount -f` to the image being there
#               (the first pass: one decode with restart points, the tar
#               scan), and its ratio to the decompression (aim: 1.2 or less);
#   second:     seconds from a second `vdiskfs mount -f` to the image, with
#               the index the first one kept (aim: under 1 s);
#   read:       `dd bs=1M` of the whole image, seconds, against the plain tar's;
#   first pass: the first pass's own time (its decoding thread, from the
#               `first pass S s` log line of `vdiskfs info --no-index`),
#               against the decompression (aim: 1.2 or less);
#   random:     4000 reads of 4 KiB at random offsets of the image's data
#               (fio randread, psync, the same offsets for every disk),
#               seconds, against the plain tar's.
# Then the first pass alone, where the tar scan costs next to nothing: four
# files of 72 MiB of base64 text (384 MiB of tar) compressed by gzip -1,
# pzstd -p 2 and xz -T2 -1: `vdiskfs mount` to the image against the
# codec's own `-dc >/dev/null` (aim: 1.2 or less).
# Run as root after building into build/.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
N=${1:-100000}
MP=$(mktemp -d /tmp/vdiskfs-cbench.XXXXXX)
W=$(mktemp -d "$BENCH_CACHE/compressed-bench.XXXXXX")
BENCH_TEMP+=("$MP" "$W")
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }

dir=$BENCH_CACHE/many-$N
if [ ! -d "$dir" ]; then
    PATH=$REPO/build/test:$PATH bash "$REPO/test/integration/gen_tree.sh" many "$N" "$dir.partial" >&2
    mv "$dir.partial" "$dir"
fi
tar --format=posix --numeric-owner -C "$dir" -cf "$W/b.tar" .
gzip -c "$W/b.tar" >"$W/b-gzip.tar.gz"
bzip2 -c "$W/b.tar" >"$W/b.tar.bz2"
pigz -p 2 -c "$W/b.tar" >"$W/b-pigz.tar.gz"
pzstd -q -p 2 -c "$W/b.tar" >"$W/b.tar.zst"
xz -T0 -c "$W/b.tar" >"$W/b.tar.xz"
cat "$W"/* >/dev/null

# measure ARCHIVE: sets READY_S, SECOND_S, READ_S, RANDOM_S. The first
# mount keeps an index in a fresh folder; the later ones use it.
measure() {
    local t0 idx
    idx=$(mktemp -d "$W/index.XXXXXX")
    t0=$(now)
    bench_mount "$MP" "$1" bench --read-only --index-dir "$idx"
    READY_S=$(since "$t0")
    bench_unmount
    t0=$(now)
    bench_mount "$MP" "$1" bench --read-only --index-dir "$idx"
    SECOND_S=$(since "$t0")
    t0=$(now)
    dd if="$MP/bench.img" of=/dev/null bs=1M status=none
    READ_S=$(since "$t0")
    bench_unmount
    bench_mount "$MP" "$1" bench --read-only --index-dir "$idx"
    t0=$(now)
    fio --name=random --filename="$MP/bench.img" --readonly --rw=randread --bs=4k --ioengine=psync \
        --size="$(stat -c %s "$W/b.tar")" --number_ios=4000 --randrepeat=1 --invalidate=0 --output=/dev/null ||
        { echo "fio failed on $1" >&2; exit 1; }
    RANDOM_S=$(since "$t0")
    bench_unmount
}

# first_pass ARCHIVE: the seconds its first pass took (vdiskfs's log line).
first_pass() {
    local s
    s=$("$VDISKFS" info --no-index "$1" 2>&1 >/dev/null | sed -n 's/.*first pass \([0-9.]*\) s.*/\1/p')
    [ -n "$s" ] || { echo "no 'first pass' line from vdiskfs info $1" >&2; exit 1; }
    echo "$s"
}

measure "$W/b.tar"
plain_ready=$READY_S plain_second=$SECOND_S plain_read=$READ_S plain_random=$RANDOM_S
for a in "b-gzip.tar.gz gzip" "b-pigz.tar.gz gzip" "b.tar.zst zstd" "b.tar.xz xz" "b.tar.bz2 bzip2"; do
    set -- $a
    t0=$(now)
    $2 -dc "$W/$1" >/dev/null
    dec=$(since "$t0")
    measure "$W/$1"
    pass=$(first_pass "$W/$1")
    rows+=$'\n'$(printf '| %s | %s | %.2f | %.2f (%s×) | %.2f (%s×) | %.2f | %.2f (%s×) | %.2f (%s×) |' "$1" "$(stat -c %s "$W/$1")" \
        "$dec" "$pass" "$(ratio "$pass" "$dec")" "$READY_S" "$(ratio "$READY_S" "$dec")" "$SECOND_S" "$READ_S" \
        "$(ratio "$READ_S" "$plain_read")" "$RANDOM_S" "$(ratio "$RANDOM_S" "$plain_random")")
done

# The first pass where data dominates.
mkdir "$W/data"
for i in 1 2 3 4; do head -c $((54 * 1024 * 1024)) /dev/urandom | base64 -w 100 >"$W/data/f$i"; done
tar -C "$W/data" -cf "$W/d.tar" . && rm -r "$W/data"
gzip -1 -c "$W/d.tar" >"$W/d.tar.gz"
pzstd -q -p 2 -c "$W/d.tar" >"$W/d.tar.zst"
xz -T2 -1 -c "$W/d.tar" >"$W/d.tar.xz"
rm "$W/d.tar"
for a in "d.tar.gz gzip" "d.tar.zst zstd" "d.tar.xz xz"; do
    set -- $a
    cat "$W/$1" >/dev/null
    t0=$(now)
    $2 -dc "$W/$1" >/dev/null
    dec=$(since "$t0")
    t0=$(now)
    bench_mount "$MP" "$W/$1" bench --read-only --no-index
    ready=$(since "$t0")
    bench_unmount
    pass=$(first_pass "$W/$1")
    drows+=$'\n'$(printf '| %s | %s | %.2f | %.2f (%s×) | %.2f (%s×) |' "$1" "$(stat -c %s "$W/$1")" "$dec" "$pass" \
        "$(ratio "$pass" "$dec")" "$ready" "$(ratio "$ready" "$dec")")
done

record_block "## $(date -u '+%Y-%m-%d %H:%M') UTC — compressed_bench.sh $N

- command: \`bash bench/compressed_bench.sh $N\`
- machine: $(machine_line)
- tree: gen_tree.sh many $N packed as a POSIX tar ($(stat -c %s "$W/b.tar") bytes), compressed by gzip, pigz -p 2, pzstd -p 2, xz -T0, bzip2; warm page cache
- first pass: its decoding thread's time (\`vdiskfs info --no-index\`'s log line), × the codec's \`-dc >/dev/null\`; ready: \`vdiskfs mount\` to the image being there (the first pass decodes the whole stream once, the tar scan and the disk build run beside it), × its \`-dc >/dev/null\`; second: the same with the index the first mount kept; read: \`dd bs=1M\` of the whole image, × the plain tar's; random: 4000 reads of 4 KiB at random offsets in the image's first (tar size) bytes on a fresh mount (fio randread, psync), × the plain tar's

| archive | bytes | \`-dc\` s | first pass s (× decompress) | ready s (× decompress) | second mount s | read s (× plain) | random s (× plain) |
|---|---:|---:|---:|---:|---:|---:|---:|
| plain tar | $(stat -c %s "$W/b.tar") | – | – | $(printf %.2f "$plain_ready") | $(printf %.2f "$plain_second") | $(printf %.2f "$plain_read") | $(printf %.2f "$plain_random") |
$(tail -n +2 <<<"$rows")

First pass where data dominates (4 files of base64 text, 384 MiB of tar; \`vdiskfs mount --no-index\` to the image × the codec's \`-dc >/dev/null\`):

| archive | bytes | \`-dc\` s | first pass s (× decompress) | ready s (× decompress) |
|---|---:|---:|---:|---:|
$(tail -n +2 <<<"$drows")"
