#!/bin/bash
# tar_bench.sh [--no-record] [COUNTS...]: a tar archive as the source, in
# the same run as the same tree as a directory. For trees of COUNTS small
# files (default 100000 1000000; gen_tree.sh many N, packed once with GNU
# tar into the bench cache), warm page cache:
#   ready:  seconds from `vdiskfs mount -f` to the image being there, and
#           the daemon's peak RSS (VmHWM) then, for the tar and the directory;
#   read:   `dd if=<mp>/bench.img of=/dev/null bs=1M` of the tar's disk
#           against `cat ARCHIVE >/dev/null` (reading the source directly),
#           MiB/s of image bytes for dd and of archive bytes for cat, warm
#           (archive in the page cache: FUSE against memory bandwidth) and
#           cold (page caches dropped before each: both read the disk).
# Run as root after building into build/.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(100000 1000000)
MP=$(mktemp -d /tmp/vdiskfs-tbench.XXXXXX)
BENCH_TEMP+=("$MP")
now() { date +%s.%N; }

# ensure_tree N: the directory and its tar, made once.
ensure_tree() {
    local dir=$BENCH_CACHE/many-$1
    if [ ! -d "$dir" ]; then
        PATH=$REPO/build/test:$PATH bash "$REPO/test/integration/gen_tree.sh" many "$1" "$dir.partial" >&2
        mv "$dir.partial" "$dir"
    fi
    if [ ! -f "$dir.tar" ]; then
        tar --format=posix --numeric-owner --atime-preserve=system -C "$dir" -cf "$dir.tar.partial" .
        mv "$dir.tar.partial" "$dir.tar"
    fi
}

# ready SOURCE: sets READY_S and READY_KIB (peak RSS); leaves the mount up.
ready() {
    local t0 t1
    t0=$(now)
    bench_mount "$MP" "$1" bench --read-only
    t1=$(now)
    READY_S=$(echo "$t1 - $t0" | bc)
    READY_KIB=$(awk '/VmHWM/ { print $2 }' "/proc/$BENCH_PID/status")
}

rows=""
for n in "${COUNTS[@]}"; do
    ensure_tree "$n"
    dir=$BENCH_CACHE/many-$n
    tarfile=$dir.tar
    cat "$tarfile" >/dev/null  # warm
    "$REPO/build/test/treetool" hash "$dir" >/dev/null
    ready "$dir"
    dir_s=$READY_S dir_kib=$READY_KIB
    bench_unmount
    ready "$tarfile"
    tar_s=$READY_S tar_kib=$READY_KIB
    img_bytes=$(stat -c %s "$MP/bench.img")
    bench_unmount
    tar_bytes=$(stat -c %s "$tarfile")
    # read_rates: sets DD_MIBS (image through vdiskfs) and CAT_MIBS (archive).
    read_rates() {
        local cold=$1 t0 t1
        ready "$tarfile"
        [ "$cold" = 1 ] && { sync; echo 3 >/proc/sys/vm/drop_caches; }
        t0=$(now)
        dd if="$MP/bench.img" of=/dev/null bs=1M status=none
        t1=$(now)
        bench_unmount
        DD_MIBS=$(echo "$img_bytes / 1048576 / ($t1 - $t0)" | bc -l)
        [ "$cold" = 1 ] && { sync; echo 3 >/proc/sys/vm/drop_caches; } || cat "$tarfile" >/dev/null
        t0=$(now)
        cat "$tarfile" >/dev/null
        t1=$(now)
        CAT_MIBS=$(echo "$tar_bytes / 1048576 / ($t1 - $t0)" | bc -l)
    }
    read_rates 0
    warm_dd=$DD_MIBS warm_cat=$CAT_MIBS
    read_rates 1
    cold_dd=$DD_MIBS cold_cat=$CAT_MIBS
    rows+=$(printf '| %s | %.0f | %.2f | %.0f | %.0f | %.2f | %.0f | %.0f | %.0f / %.0f | %.0f / %.0f | %.2f / %.2f |' "$n" \
        "$(echo "$tar_bytes / 1048576" | bc -l)" "$tar_s" "$(echo "$tar_kib / 1024" | bc -l)" \
        "$(echo "$tar_kib * 1024 / $n" | bc -l)" "$dir_s" "$(echo "$dir_kib / 1024" | bc -l)" \
        "$(echo "$img_bytes / 1048576" | bc -l)" "$warm_dd" "$cold_dd" "$warm_cat" "$cold_cat" \
        "$(echo "$warm_dd / $warm_cat" | bc -l)" "$(echo "$cold_dd / $cold_cat" | bc -l)")$'\n'
    echo "$n files: tar ready $tar_s s ($tar_kib KiB), dir ready $dir_s s; dd $warm_dd/$cold_dd MiB/s, cat $warm_cat/$cold_cat MiB/s" >&2
done

record_block "## $(date -u '+%Y-%m-%d %H:%M UTC') — tar_bench.sh

- command: \`bash bench/tar_bench.sh ${COUNTS[*]}\`
- machine: $(machine_line)
- trees: gen_tree.sh many N (0–3000-byte files, 1000 per directory), as a directory and as a posix tar; warm page cache; --read-only mounts
- ready = seconds from \`vdiskfs mount -f\` to the image; RSS = the daemon's VmHWM then; read: dd MiB/s of the tar's image through vdiskfs and cat MiB/s of the archive itself, warm / cold (caches dropped); ratio = dd / cat

| files | tar MiB | tar: ready s | tar: RSS MiB | tar: B/file | dir: ready s | dir: RSS MiB | image MiB | dd MiB/s warm / cold | cat MiB/s warm / cold | ratio warm / cold |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows%$'\n'}"
