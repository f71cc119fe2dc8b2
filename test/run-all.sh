#!/bin/bash
# Builds and runs every test twice: the normal build, then the same tests
# built with AddressSanitizer and UndefinedBehaviorSanitizer; then 45 s
# of fuzzing of the archive readers. Needs root
# (FUSE, loop devices, mount) and the packages of ./setup.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)

# run_suite BUILD_DIR CTEST_ARGS CMAKE_ARGS...: configure, build, run ctest
# (no test found is an error); adds the tests that ctest says passed to
# PASSED, read from its summary line, not from a list.
PASSED=0
SUMMARY=""
run_suite() {
    local dir=$1 ctest_args=$2 n
    shift 2
    cmake -S "$root" -B "$dir" "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    # shellcheck disable=SC2086
    ctest --test-dir "$dir" --output-on-failure --no-tests=error $ctest_args | tee "$dir/ctest.out"
    n=$(sed -n 's/^100% tests passed, 0 tests failed out of \([0-9][0-9]*\)$/\1/p' "$dir/ctest.out")
    if ! [[ $n =~ ^[1-9][0-9]*$ ]]; then
        echo "run-all.sh: ctest in $dir did not report '100% tests passed, 0 tests failed out of N'" >&2
        exit 1
    fi
    PASSED=$((PASSED + n))
    SUMMARY+="${SUMMARY:+, }$(basename "$dir") $n"
}

echo "== normal build"
run_suite "$root/build" "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
# The slow tests (QEMU boots of a whole server, minutes each) run in the
# normal build only: under the sanitizers they would double the CI time
# while exercising the same code paths as the other integration tests.
# The variants (the full tree once more from a directory, in another tar
# dialect, and through every container) likewise: their code runs under the
# sanitizers in the small variants and in tar_full_posix.
echo "== sanitizer build (ASan + UBSan), without the tests labelled slow or variant:" \
    "$(ctest --test-dir "$root/build" -N -L 'slow|variant' | grep 'Test *#' | awk '{print $3}' | tr '\n' ' ')"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# -O1, as the sanitizers' authors advise: reports keep their stacks, and
# the suite runs in a fraction of -O0's time.
run_suite "$root/build-asan" "-LE slow|variant" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
    -DCMAKE_C_FLAGS_DEBUG="-g -O1" -DVDISKFS_SANITIZE=ON

# The tar and compressed-stream readers on arbitrary bytes (libFuzzer, clang,
# ASan + UBSan): a crash, leak or hang fails the run.
echo "== fuzz (test/fuzz/run.sh 45)"
"$root/test/fuzz/run.sh" 45
SUMMARY+=", fuzz tar_fuzz and index_fuzz 45 s each"

echo "all suites: $PASSED passed, 0 failed ($SUMMARY)"
