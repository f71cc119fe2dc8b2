#!/usr/bin/env bash
# cache_bench.sh [--no-record] [cache_bench options...] — hit rates of the
# block cache in front of remote sources (issue #16): LRU against ARC on a
# workload like a VM boot (a hot set read again and again, interleaved with
# a one-pass scan larger than the cache), the disk tier on a second boot,
# and memory hits per second. No share and no root needed: the cache is
# driven directly by bench/cache_bench.cpp (read its header for the
# workload), which this script compiles against the core libraries of a
# build folder.
#
# Environment: BUILD (the build folder, default build; its
# libvdiskfs_source.a and libvdiskfs_image.a are linked), RESULTS (see
# common.sh). Options after --no-record go to cache_bench, e.g.
# `--memory-mib 128,256 --hot-reads 2`; without --dir the script gives it a
# temporary folder for the disk tier.
source "$(dirname "$0")/common.sh"
export LC_ALL=C
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
: "${BUILD:=$REPO/build}"
for lib in libvdiskfs_source.a libvdiskfs_image.a; do
    [ -f "$BUILD/$lib" ] || { echo "cache_bench.sh: $BUILD/$lib missing: cmake --build $BUILD first (or set BUILD)" >&2; exit 1; }
done
WORKD=$(mktemp -d /var/tmp/vdiskfs-cachebench.XXXXXX)
BENCH_TEMP+=("$WORKD")
bin=$WORKD/cache_bench
# shellcheck disable=SC2046
c++ -std=c++20 -O2 -Wall -Wextra -I"$REPO" "$BENCH_DIR/cache_bench.cpp" -o "$bin" \
    "$BUILD/libvdiskfs_source.a" "$BUILD/libvdiskfs_image.a" \
    $(pkg-config --libs libxxhash) -lfmt -pthread

args=("$@")
case " $* " in *" --dir "*) ;; *) args+=(--dir "$WORKD/disk") ;; esac
out=$("$bin" "${args[@]}")
record_block "## $(date -u '+%Y-%m-%d %H:%M UTC') — cache_bench.sh

- command: \`bash bench/cache_bench.sh${*:+ $*}\` (BUILD=$BUILD)
- machine: $(machine_line); commit $(git -C "$REPO" rev-parse --short HEAD)

$out"
