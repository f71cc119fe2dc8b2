#!/bin/bash
# archive_boot_bench.sh [--no-record]: seconds from the command to the login
# prompt, in the same run, for the minimal Debian server backup
# (test/integration/debian_server.sh) packed as a plain POSIX tar, as a
# .tar.gz (gzip -6) and as a .tar.zst (pzstd -p 2) (#17):
# `examples/instant-recovery.sh --until-login ARCHIVE` with a fresh delta and
# a fresh index folder each, so the compressed ones include their first pass;
# page caches dropped before each. Ratio: against the plain tar (aim: the
# .tar.gz within 1.5×). ACCEL=kvm|tcg (default tcg). Run as root after
# building into build/.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
: "${ACCEL:=tcg}"
mkdir -p "$BENCH_CACHE"
WORK=$(mktemp -d "$BENCH_CACHE/archive-boot-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
now() { date +%s.%N; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

backup=$WORK/web01
bash "$REPO/test/integration/debian_server.sh" "$backup"
tar --format=posix --xattrs --xattrs-include='*' --acls --numeric-owner -C "$backup" -cf "$WORK/web01.tar" .
gzip -c "$WORK/web01.tar" >"$WORK/web01.tar.gz"
pzstd -q -p 2 -c "$WORK/web01.tar" >"$WORK/web01.tar.zst"
rm -rf "$backup"

# boot ARCHIVE: seconds to the login prompt, as instant-recovery.sh says.
boot() {
    local name out
    name=$(basename "$1")
    drop_caches
    out=$(VDISKFS=$VDISKFS "$REPO/examples/instant-recovery.sh" --until-login --net none --accel "$ACCEL" \
        --delta "$WORK/delta.$name" --vdiskfs-opt="--index-dir=$WORK/index.$name" "$1" 2>&1) ||
        { echo "$out" >&2; exit 1; }
    sed -n 's/.*login prompt after \([0-9.]*\) s/\1/p' <<<"$out"
}

plain=$(boot "$WORK/web01.tar")
rows=$(printf '| web01.tar | %s | %.1f | 1.00 |' "$(stat -c %s "$WORK/web01.tar")" "$plain")
for a in web01.tar.gz web01.tar.zst; do
    s=$(boot "$WORK/$a")
    rows+=$'\n'$(printf '| %s | %s | %.1f | %s |' "$a" "$(stat -c %s "$WORK/$a")" "$s" "$(echo "scale=2; $s / $plain" | bc)")
    echo "$a: $s s (plain tar $plain s)"
done

record_block "## $(date -u '+%Y-%m-%d %H:%M UTC') — archive_boot_bench.sh

- command: \`bash bench/archive_boot_bench.sh\` (ACCEL=$ACCEL)
- machine: $(machine_line)
- backup: minimal Debian 12 server (debian_server.sh) packed by GNU tar (posix, xattrs, ACLs), then gzip -6 and pzstd -p 2; each booted by \`instant-recovery.sh --until-login\` with a fresh delta and index folder (the first pass included), page caches dropped before each
- ratio: seconds to \`login:\` against the plain tar's (aim: .tar.gz 1.5 or less)

| archive | bytes | to login: s | × plain tar |
|---|---:|---:|---:|
$rows"
