#!/bin/bash
# crash_soak.sh [ROUNDS]: the crash test of the deltas, longer than CI's
# 20 rounds (default 300). Run as root after building into build/.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
VDISKFS=$REPO/build/vdiskfs CRASHWRITER=$REPO/build/test/crashwriter \
    exec bash "$REPO/test/integration/crash_test.sh" "${1:-300}"
