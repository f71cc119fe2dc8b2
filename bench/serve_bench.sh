#!/bin/bash
# serve_bench.sh [--no-record] [DISKS] [FILES]: `vdiskfs serve` of a catalog
# of DISKS disks (default 100), each a directory of FILES small files
# (default 10000; gen_tree.sh many FILES, hard-linked into one folder per
# disk, so every disk scans a tree of its own). Warm page cache. Measured in
# the same run:
#   one mount:  seconds from `vdiskfs mount -f` of one disk to its image,
#               and the daemon's peak RSS (VmHWM) once ready;
#   serve:      seconds from `vdiskfs serve -f` to every disk's image being
#               there, against DISKS times the one mount (the scans run on
#               --jobs threads; 2 cores here), and the daemon's peak RSS,
#               against DISKS times the one mount's;
#   add:        seconds from `vdiskfs catalog add` of one more disk to its
#               image in the served mount (the rule: 2 s plus its scan).
# Run as root after building into build/.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
DISKS=${1:-100}
FILES=${2:-10000}
MP=$(mktemp -d /tmp/vdiskfs-sbench.XXXXXX)
W=$(mktemp -d "$BENCH_CACHE/serve-bench.XXXXXX")
BENCH_TEMP+=("$MP" "$W")
SERVE_PID=""
# stop_serve: unmounts and waits for the daemon; one that is not mounted
# (yet) gets SIGTERM, by its pid.
stop_serve() {
    [ -n "$SERVE_PID" ] || return 0
    fusermount3 -u "$MP" 2>/dev/null || kill -TERM "$SERVE_PID" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || true
    SERVE_PID=""
}
trap 'stop_serve; bench_cleanup' EXIT
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
ratio() { printf '%.2f' "$(echo "scale=4; $1 / $2" | bc)"; }
secs() { printf '%.2f' "$1"; }
# images_ready: how many MP/dN/dN.img exist (0 before the mount answers;
# a glob, as `ls | wc -l` fails the script under pipefail when none does).
images_ready() {
    local imgs
    shopt -s nullglob
    imgs=("$MP"/d*/d*.img)
    shopt -u nullglob
    echo "${#imgs[@]}"
}
hwm_mib() { echo $(($(sed -n 's/^VmHWM:\s*\([0-9]*\) kB/\1/p' "/proc/$1/status") / 1024)); }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
tree=$BENCH_CACHE/many-$FILES
if [ ! -d "$tree" ]; then
    PATH=$REPO/build/test:$PATH bash "$REPO/test/integration/gen_tree.sh" many "$FILES" "$tree.partial" >&2
    mv "$tree.partial" "$tree"
fi
for ((d = 0; d < DISKS + 1; d++)); do cp -al "$tree" "$W/src$d"; done
find "$W" -type f -exec cat {} + >/dev/null

# One disk alone.
t0=$(now)
bench_mount "$MP" "$W/src0" one --read-only
ONE_S=$(since "$t0")
ONE_MIB=$(hwm_mib "$BENCH_PID")
bench_unmount

# The catalog of DISKS disks, served.
cat=$W/catalog.db
for ((d = 0; d < DISKS; d++)); do
    "$VDISKFS" catalog --catalog "$cat" add "d$d" "$W/src$d" --delta "$W/delta$d" >/dev/null
done
t0=$(now)
"$VDISKFS" serve -f -q --read-only --catalog "$cat" "$MP" >/dev/null 2>"$W/serve.err" &
SERVE_PID=$!
for ((i = 0; ; i++)); do
    ready=$(images_ready)
    [ "$ready" -ge "$DISKS" ] && break
    kill -0 "$SERVE_PID" 2>/dev/null || { echo "vdiskfs serve failed: $(cat "$W/serve.err")" >&2; exit 1; }
    [ $i -lt 60000 ] || { echo "serve: only $ready of $DISKS disks ready after 600 s" >&2; exit 1; }
    sleep 0.01
done
SERVE_S=$(since "$t0")
SERVE_MIB=$(hwm_mib "$SERVE_PID")

t0=$(now)
"$VDISKFS" catalog --catalog "$cat" add extra "$W/src$DISKS" --delta "$W/delta-extra" >/dev/null
until [ -e "$MP/extra/extra.img" ]; do
    kill -0 "$SERVE_PID" 2>/dev/null || { echo "vdiskfs serve died: $(cat "$W/serve.err")" >&2; exit 1; }
    sleep 0.01
done
ADD_S=$(since "$t0")
stop_serve

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
seq_s=$(echo "$ONE_S * $DISKS" | bc)
seq_mib=$((ONE_MIB * DISKS))
commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$REPO" diff --quiet HEAD -- 2>/dev/null || commit+="-dirty"
block=$(
    cat <<EOF
## $(date -u '+%F %H:%M') UTC — serve_bench.sh $DISKS $FILES

- command: \`bash bench/serve_bench.sh $DISKS $FILES\`
- machine: $(machine_line), load average at start $LOAD0 (at the end $LOAD)
- vdiskfs: commit $commit; \`serve --read-only\` with the default --jobs 4
- trees: \`gen_tree.sh many $FILES\` hard-linked once per disk ($DISKS + 1 copies: every disk scans a tree of its own), warm page cache
- baseline, measured in the same run: one \`vdiskfs mount -f\` of one such tree (start to its image; VmHWM once ready); serve: start to all $DISKS images there, VmHWM then; add: \`catalog add\` of one more disk to its image in the served mount

| measure | value | baseline | × baseline |
| --- | ---: | --- | ---: |
| one disk: mount to image | $(secs "$ONE_S") s | | |
| one disk: peak RSS | ${ONE_MIB} MiB | | |
| serve: start to all $DISKS images | $(secs "$SERVE_S") s | $DISKS × one mount: $(secs "$seq_s") s | $(ratio "$SERVE_S" "$seq_s") |
| serve: peak RSS | ${SERVE_MIB} MiB | $DISKS × one mount: ${seq_mib} MiB | $(ratio "$SERVE_MIB" "$seq_mib") |
| catalog add to the image in the mount | $(secs "$ADD_S") s | one mount: $(secs "$ONE_S") s | $(ratio "$ADD_S" "$ONE_S") |
EOF
)
record_block "$block"
