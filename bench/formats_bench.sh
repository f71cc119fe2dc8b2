#!/bin/bash
# formats_bench.sh [--no-record] [TREE] — sequential read throughput of each
# container file against the raw .img of the same mount, in the same run.
#
# TREE defaults to the `full` test tree (generated once into the bench
# cache): large and small files, sparse files, 10,000-entry directory.
# For each exposed file, two measures, each run twice (the second counts):
#   dd:      `dd if=FILE of=/dev/null bs=1M` over the container file's bytes;
#   convert: `qemu-img convert -n -f FMT FILE` into QEMU's null-co driver, reading the
#            guest disk through the format (sparse formats skip what is not
#            allocated, as a real consumer does).
# Ratio = raw .img time / format time for convert (>= 0.95 is the aim), and
# MiB/s of container bytes for dd. For reference, the same files copied to
# local disk are converted too (warm page cache, no FUSE): "local ratio" is
# what QEMU's own reader of each format achieves against raw, and "vs local"
# = local time / vdiskfs time, how close serving through vdiskfs comes to a
# real file. Run as root after building (build/).
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
tree=${1:-}
MP=$(mktemp -d /tmp/vdiskfs-fbench.XXXXXX)
BENCH_TEMP+=("$MP")

# Creates the default tree once.
ensure_tree() {
    if [ -z "$tree" ]; then
        tree=$BENCH_CACHE/full
        if [ ! -d "$tree" ]; then
            mkdir -p "$BENCH_CACHE"
            PATH=$REPO/build/test:$PATH bash "$REPO/test/integration/gen_tree.sh" full "$tree.partial" >&2
            mv "$tree.partial" "$tree"
        fi
    fi
}

# Mounts the tree (fresh: an empty page cache for the exposed files).
mount_tree() { bench_mount "$MP" "$tree" bench; }
unmount_tree() { bench_unmount; }

# seconds CMD...: best of three wall times of CMD, each on a fresh mount
# (so every byte goes through vdiskfs, the source being warm).
seconds() {
    local t0 t1 t best=""
    for _ in 1 2 3; do
        mount_tree
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
        t1=$(date +%s.%N)
        unmount_tree
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || (($(echo "$t < $best" | bc -l))); then best=$t; fi
    done
    echo "$best"
}

# best_of_three CMD...: best wall time of three runs (no mount).
best_of_three() {
    local t0 t1 t best=""
    for _ in 1 2 3; do
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
        t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || (($(echo "$t < $best" | bc -l))); then best=$t; fi
    done
    echo "$best"
}

fmt_of() {
    case $1 in
    *.qcow2) echo qcow2 ;; *.vdi) echo vdi ;; *.vhd) echo vpc ;; *.vmdk) echo vmdk ;; *) echo raw ;;
    esac
}

main() {
    ensure_tree
    "$REPO/build/test/treetool" hash "$tree" >/dev/null  # warm the source (holes skipped)
    local table="" raw_mib disk
    mount_tree
    disk=$(stat -c %s "$MP/bench.img")
    declare -A sizes
    for f in bench.img bench.vmdk bench-esx.vmdk bench.vhd bench-fixed.vhd bench.vdi bench.qcow2; do
        sizes[$f]=$(stat -c %s "$MP/$f")
    done
    unmount_tree
    raw_mib=$((disk / 1048576))
    local files=(bench.img bench.vmdk bench-esx.vmdk bench.vhd bench-fixed.vhd bench.vdi bench.qcow2)
    declare -A conv ddt
    for f in "${files[@]}"; do
        conv[$f]=$(seconds qemu-img convert -n -f "$(fmt_of "$f")" --target-image-opts "$MP/$f" "driver=null-co,size=$disk")
        if [ "$f" != bench-esx.vmdk ]; then ddt[$f]=$(seconds dd if="$MP/$f" of=/dev/null bs=1M); fi
    done
    # The local reference: plain copies of the same files.
    local ref=$BENCH_CACHE/formats-local
    rm -rf "$ref" && mkdir -p "$ref"
    mount_tree
    for f in "${files[@]}" bench-flat.vmdk; do cp --sparse=always "$MP/$f" "$ref/$f"; done
    unmount_tree
    declare -A local_conv
    for f in "${files[@]}"; do
        local_conv[$f]=$(best_of_three qemu-img convert -n -f "$(fmt_of "$f")" --target-image-opts "$ref/$f" "driver=null-co,size=$disk")
    done
    rm -rf "$ref"
    for f in "${files[@]}"; do
        local size=${sizes[$f]} dd=${ddt[$f]:-}
        table+=$(printf '| %s | %s | %.1f | %.3f | %.2f | %.3f | %.2f | %.2f | %s | %s |' "$f" "$(fmt_of "$f")" "$(echo "$size / 1048576" | bc -l)" \
            "${conv[$f]}" "$(echo "${conv[bench.img]} / ${conv[$f]}" | bc -l)" \
            "${local_conv[$f]}" "$(echo "${local_conv[bench.img]} / ${local_conv[$f]}" | bc -l)" \
            "$(echo "${local_conv[$f]} / ${conv[$f]}" | bc -l)" \
            "${dd:+$(printf '%.3f' "$dd")}" "${dd:+$(printf '%.0f' "$(echo "$size / 1048576 / $dd" | bc -l)")}")
        table+=$'\n'
    done
    local out
    out=$(printf '## %s — formats_bench.sh\n\n- command: `bash bench/formats_bench.sh%s`\n- machine: %s\n- tree: %s (%s entries), warm page cache; raw image %s MiB; each measure on a fresh mount\n\n' \
        "$(date -u '+%Y-%m-%d %H:%M UTC')" "${MOUNT_OPTS:+ (MOUNT_OPTS=$MOUNT_OPTS)}${1:+ $1}" "$(machine_line)" "$tree" \
        "$(find "$tree" | wc -l)" "$raw_mib")
    out+=$'\n| file | qemu format | file MiB | convert s | ratio vs raw (raw s / s) | local convert s | local ratio vs raw | vs local (local s / s) | dd s | dd MiB/s |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
    out+=$table
    record_block "$out"
}
main "$@"
