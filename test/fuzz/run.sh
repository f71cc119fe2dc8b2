#!/bin/bash
# run.sh [SECONDS]: builds the libFuzzer targets with clang (ASan + UBSan,
# build-fuzz/) and runs each for SECONDS (default 60): tar_fuzz over a seed
# corpus of small archives (GNU, POSIX and V7 tars by GNU tar, a pax tar by
# bsdtar, and the GNU one compressed by gzip, zstd, xz and bzip2), then
# index_fuzz over the kept indexes vdiskfs makes of them. A crash, a leak,
# a sanitizer report or a timeout fails the run; the input that did it is
# kept in build-fuzz/ (crash-*, leak-*, timeout-*) and printed.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-60}
for t in clang++:clang tar:tar bsdtar:libarchive-tools gzip:gzip zstd:zstd xz:xz-utils bzip2:bzip2; do
    command -v "${t%%:*}" >/dev/null || { echo "run.sh: ${t%%:*} is missing: apt-get install ${t#*:} (./setup.sh)" >&2; exit 1; }
done
build=$root/build-fuzz
cmake -S "$root" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DVDISKFS_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target tar_fuzz index_fuzz
# The index corpus is made by a vdiskfs binary: the normal build's when
# there is one (run-all.sh built it), else one built here.
vdiskfs=${VDISKFS:-$root/build/vdiskfs}
if [ ! -x "$vdiskfs" ]; then
    cmake --build "$build" -j"$(nproc)" --target vdiskfs
    vdiskfs=$build/vdiskfs
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree/dir" "$work/corpus"
printf 'hello\n' >"$work/tree/dir/a"
head -c 3000 /dev/zero | tr '\0' x >"$work/tree/b"
ln -s dir/a "$work/tree/link"
ln "$work/tree/b" "$work/tree/hard"
name=$(printf 'n%.0s' {1..120})
printf 'long' >"$work/tree/$name"
for f in gnu posix v7; do tar --format=$f -C "$work/tree" -cf "$work/corpus/$f.tar" . 2>/dev/null || true; done
bsdtar --format=pax -C "$work/tree" -cf "$work/corpus/bsd.tar" .
gzip -c "$work/corpus/gnu.tar" >"$work/corpus/gnu.tar.gz"
zstd -q -c "$work/corpus/gnu.tar" >"$work/corpus/gnu.tar.zst"
xz -c "$work/corpus/gnu.tar" >"$work/corpus/gnu.tar.xz"
bzip2 -c "$work/corpus/gnu.tar" >"$work/corpus/gnu.tar.bz2"

# The index corpus: the kept indexes of the tar corpus, without their
# 72-byte header.
mkdir "$work/index" "$work/index-corpus"
for a in "$work"/corpus/*; do
    "$vdiskfs" info -q --index-dir "$work/index" "$a" >/dev/null 2>&1 || true
done
for i in "$work"/index/*.vdidx; do tail -c +73 "$i" >"$work/index-corpus/$(basename "$i")"; done
[ "$(ls "$work/index-corpus" | wc -l)" -ge 4 ] || { echo "run.sh: vdiskfs kept too few indexes for a corpus: $(ls "$work/index")" >&2; exit 1; }

# run_target NAME CORPUS: runs test/NAME for $seconds s over CORPUS.
run_target() {
    local name=$1 corpus=$2 status=0
    (cd "$build" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        ./test/"$name" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "$corpus" 2>"$work/$name.log") || status=$?
    tail -8 "$work/$name.log"
    if [ "$status" -ne 0 ]; then
        echo "run.sh: $name failed (status $status); the input is in $build: $(ls "$build" | grep -E '^(crash|leak|timeout|oom)-' | tr '\n' ' ')" >&2
        exit 1
    fi
    echo "PASS $name: $seconds s, $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$name.log" | grep -o '[0-9]*$') inputs, no crash"
}
run_target tar_fuzz "$work/corpus"
run_target index_fuzz "$work/index-corpus"
