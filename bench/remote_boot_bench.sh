#!/bin/bash
# remote_boot_bench.sh [--no-record]: what the disk cache of a share buys a
# booting VM (#16). The UEFI-shaped Debian backup of the instant-recovery
# test (test/integration/debian_server.sh), a directory exported by
# nfs-ganesha on loopback (test/integration/nfs_server.sh), is booted to
# `login:` by examples/instant-recovery.sh over NFSv4
# (nfs://127.0.0.1/EXPORT?version=4&nfsport=N), with
# `--cache-dir DIR --cache-dir-size CACHE_DIR_SIZE` on its vdiskfs mount,
# twice per row, each boot on a fresh delta, page caches dropped first:
#   boot 1: cold, DIR empty (it fills as the mount ends);
#   boot 2: a new mount with the same DIR, now filled.
# Per boot: seconds from the command to `login:` and the block cache's
# counters (`vdiskfs stats MOUNTPOINT --json`, read as soon as the login
# prompt shows, before the guest powers off).
# Rows: DELAYS (default "2 0"), milliseconds added to every chunk of the
# NFS connection in each direction by bench/tools/delay_proxy.py (a
# userspace TCP proxy: this kernel has no sch_netem for `tc netem`); 0 is
# the server reached directly, no proxy. ACCEL=kvm|tcg (default tcg).
# Run as root after building into build/.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
: "${DELAYS:=2 0}"
: "${ACCEL:=tcg}"
: "${CACHE_DIR_SIZE:=2G}"
TESTS_DIR=$REPO/test/integration
# shellcheck source=/dev/null
source "$TESTS_DIR/lib.sh"
source "$TESTS_DIR/nfs_server.sh"
for t in "python3 python3" "qemu-system-x86_64 qemu-system-x86" "jq jq" "bc bc" "ss iproute2" "du coreutils"; do
    require $t
done
mkdir -p "$BENCH_CACHE"
B=$(mktemp -d "$BENCH_CACHE/remote-boot-bench.XXXXXX")
proxy_pid="" boot_pid=""
# Stops what this script started: a boot under way (instant-recovery.sh's
# own EXIT trap stops its QEMU and unmounts its vdiskfs), the proxy, the
# NFS server (and the rpcbind it started).
finish() {
    set +e
    if [ -n "$boot_pid" ]; then
        kill -TERM "$boot_pid" 2>/dev/null
        wait "$boot_pid" 2>/dev/null
    fi
    proxy_stop
    nfs_stop
    rm -rf "$B"
}
trap finish EXIT

# proxy_start DELAY_MS: delay_proxy.py in front of the NFS port; sets PROXY_PORT.
proxy_start() {
    local i
    for ((PROXY_PORT = 21490; PROXY_PORT < 21890; PROXY_PORT++)); do nfs_port_free "$PROXY_PORT" && break; done
    nfs_port_free "$PROXY_PORT" || die "no free port in 21490..21889 for the delay proxy"
    python3 "$BENCH_DIR/tools/delay_proxy.py" "$PROXY_PORT" "$NFS_PORT" "$1" >"$B/proxy.log" 2>&1 &
    proxy_pid=$!
    for ((i = 0; i < 100; i++)); do
        grep -q "^listening" "$B/proxy.log" && return 0
        kill -0 "$proxy_pid" 2>/dev/null || die "delay_proxy.py exited: $(cat "$B/proxy.log")"
        sleep 0.1
    done
    die "delay_proxy.py did not listen within 10 s"
}
proxy_stop() {
    [ -n "$proxy_pid" ] || return 0
    kill -TERM "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
    wait_gone "$proxy_pid" 10 || kill -KILL "$proxy_pid" 2>/dev/null || true
    proxy_pid=""
}

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# boot LABEL URL CACHE_DIR: one boot to login:; sets BOOT_SECS (to the
# login prompt) and BOOT_STATS (the source's counters as JSON).
boot() {
    local label=$1 url=$2 cache=$3 out=$B/boot.$1.out vd mp stats i
    drop
    VDISKFS=$VDISKFS "$REPO/examples/instant-recovery.sh" --until-login --net none --accel "$ACCEL" --timeout 900 \
        --vdiskfs-opt=--cache-dir="$cache" --vdiskfs-opt=--cache-dir-size="$CACHE_DIR_SIZE" \
        --delta "$B/delta.$label" --console-log "$B/console.$label" "$url" >"$out" 2>&1 &
    boot_pid=$!
    until grep -q "login prompt after" "$out"; do
        kill -0 "$boot_pid" 2>/dev/null || { wait "$boot_pid" || true; boot_pid=""; die "boot $label failed: $(cat "$out")"; }
        sleep 0.05
    done
    # The counters now, before the guest's shutdown reads: the mount point
    # is the last argument of the script's vdiskfs (its child).
    vd=$(pgrep -P "$boot_pid" -x vdiskfs) || die "boot $label: no vdiskfs process under instant-recovery.sh"
    mp=$(tr '\0' '\n' <"/proc/$vd/cmdline" | tail -1)
    stats=$("$VDISKFS" stats "$mp" --json | jq -c .source_counters) || die "boot $label: vdiskfs stats $mp failed"
    wait "$boot_pid" || { boot_pid=""; die "boot $label failed after login: $(cat "$out")"; }
    boot_pid=""
    BOOT_SECS=$(sed -n 's/.*login prompt after \([0-9.]*\) s/\1/p' "$out") BOOT_STATS=$stats
}
# counter NAME: cache_NAME of BOOT_STATS.
counter() { jq -r ".cache_$1" <<<"$BOOT_STATS"; }

bash "$TESTS_DIR/debian_server.sh" "$B/web01"
backup_mib=$(du -sm "$B/web01" | cut -f1)
nfs_start "$B/nfs" "$B/web01"
export_dir=$NFS_EXPORT

# A row: boot 1 with an empty cache folder, boot 2 with the one it filled.
rows="" ratios=""
for d in $DELAYS; do
    port=$NFS_PORT how="ganesha directly"
    if [ "$d" != 0 ]; then
        proxy_start "$d"
        port=$PROXY_PORT how="delay_proxy.py, $d ms each way"
    fi
    url="nfs://127.0.0.1$export_dir?version=4&nfsport=$port"
    cache=$B/cache.$d
    secs=()
    for n in 1 2; do
        before=$(du -sm "$cache" 2>/dev/null | cut -f1 || true)
        boot "$d-$n" "$url" "$cache"
        s=$BOOT_SECS
        secs+=("$s")
        lookups=$(( $(counter hits) + $(counter misses) ))
        served=$(( $(counter hits) + $(counter disk_hits) ))
        rate=$(echo "scale=1; 100 * $served / $lookups" | bc)
        byte_rate=$(echo "scale=1; 100 * $(counter hit_bytes) / ($(counter hit_bytes) + $(counter miss_bytes))" | bc)
        fetched=$(echo "scale=1; $(counter fetched_bytes) / 1048576" | bc)
        echo "delay $d ms, boot $n: $s s to login:, lookups $lookups, memory hits $(counter hits), disk hits $(counter disk_hits), misses $(counter misses), fetched $fetched MiB"
        rows+="| $d ($how) | $n | ${before:-0} | $s | $lookups | $(counter hits) | $(counter disk_hits) | $(( $(counter misses) - $(counter disk_hits) )) | $rate % | $byte_rate % | $fetched |
"
    done
    proxy_stop
    ratios+="- ${d} ms: boot 1 / boot 2 = $(echo "scale=2; ${secs[0]} / ${secs[1]}" | bc) (${secs[0]} s against ${secs[1]} s)
"
done

record_block "## $(date -u '+%Y-%m-%d %H:%M UTC') — remote_boot_bench.sh

- command: \`bash bench/remote_boot_bench.sh\` (DELAYS=\"$DELAYS\", ACCEL=$ACCEL, CACHE_DIR_SIZE=$CACHE_DIR_SIZE)
- machine: $(machine_line)
- backup: the UEFI-shaped minimal Debian 12 server of the instant-recovery test, a directory of $backup_mib MiB exported by nfs-ganesha (NFSv4) on loopback, booted by \`examples/instant-recovery.sh --until-login\` (direct kernel boot) from \`nfs://127.0.0.1/…?version=4\` with \`--cache-dir DIR --cache-dir-size $CACHE_DIR_SIZE\` (memory tier: the default --cache-size)
- per row two boots, each a new mount and a fresh delta, page caches dropped first: boot 1 with DIR empty, boot 2 with the DIR boot 1's mount filled
- the delay: bench/tools/delay_proxy.py, a userspace TCP proxy on loopback that forwards every chunk in each direction after DELAY ms (this kernel has no sch_netem, so \`tc netem\` is impossible); 0 ms is ganesha reached directly
- counters: \`vdiskfs stats MP --json\` at the login prompt; a lookup is one cache block (1 MiB) of one read; hit rate = (memory hits + disk-tier hits) / lookups; bytes = bytes the reads asked for

| delay ms (server) | boot | cache folder before (MiB) | s to \`login:\` | lookups | memory hits | disk hits | misses to the server | hit rate | byte hit rate | MiB fetched from the server |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows%$'\n'}

${ratios%$'\n'}"
