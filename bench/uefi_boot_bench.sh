#!/bin/bash
# uefi_boot_bench.sh [--no-record] [ROUNDS]: from command to login prompt
# for the same UEFI-shaped Debian backup (test/integration/debian_server.sh:
# /, /boot, /boot/efi with the backup's EFI GRUB, swap), booted through
# vdiskfs two ways, alternating, ROUNDS times each (default 2):
#   direct: examples/instant-recovery.sh (kernel and initrd from the disk, -kernel)
#   uefi:   examples/instant-recovery.sh --uefi (OVMF, the ESP's BOOTX64.EFI
#           reading the backup's grubx64.efi, GRUB loads the kernel from /boot)
# Each boot on a fresh delta. ACCEL=kvm|tcg (default tcg). Run as root after
# building into build/.
source "$(dirname "$0")/common.sh"
if [ "${1:-}" = --no-record ]; then record=0; shift; fi
ROUNDS=${1:-2}
: "${ACCEL:=tcg}"
mkdir -p "$BENCH_CACHE"
WORK=$(mktemp -d "$BENCH_CACHE/uefi-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# boot WAY N: seconds to the login prompt.
boot() {
    local extra=() out
    [ "$1" = uefi ] && extra=(--uefi)
    out=$(VDISKFS=$VDISKFS "$REPO/examples/instant-recovery.sh" --until-login --net none --accel "$ACCEL" \
        "${extra[@]}" --delta "$WORK/delta.$1.$2" "$WORK/web01" 2>&1) || { echo "$out" >&2; exit 1; }
    sed -n 's/.*login prompt after \([0-9.]*\) s/\1/p' <<<"$out"
}

bash "$REPO/test/integration/debian_server.sh" "$WORK/web01"
direct=() uefi=()
for ((r = 1; r <= ROUNDS; r++)); do
    direct+=("$(boot direct $r)")
    uefi+=("$(boot uefi $r)")
    echo "round $r: direct ${direct[-1]} s, uefi ${uefi[-1]} s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
d=$(median "${direct[@]}") u=$(median "${uefi[@]}")
record_block "## $(date -u '+%Y-%m-%d %H:%M UTC') — uefi_boot_bench.sh

- command: \`bash bench/uefi_boot_bench.sh $ROUNDS\` (ACCEL=$ACCEL)
- machine: $(machine_line)
- backup: the UEFI-shaped minimal Debian 12 server of the instant-recovery test (/, /boot, /boot/efi with EFI GRUB, swap), a directory
- seconds from the command to \`login:\`, alternating, fresh delta per boot; median of $ROUNDS

| way | boots (s) | median (s) |
|---|---|---:|
| direct kernel (-kernel from the disk) | ${direct[*]} | $d |
| UEFI (OVMF, the backup's GRUB via BOOTX64.EFI) | ${uefi[*]} | $u |

Ratio uefi / direct = $(echo "scale=2; $u / $d" | bc) (what the firmware and the boot loader cost)."
