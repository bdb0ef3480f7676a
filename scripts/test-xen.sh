#!/usr/bin/env bash
# The opt-in nested Xen Remus lane (not part of scripts/test.sh: 15-40 minutes per test).
# Builds the lane (scripts/xen-lane/build.sh, cached in .cache/xen-lane/), boots
# Xen 4.17 nested in QEMU (TCG) and runs test/xen/*.xen.ts against real
# `xl remus` driven by Hefery's xen-remus backend.
#   bash scripts/test-xen.sh            run the lane test
#   bash scripts/test-xen.sh --record   also copy the run's figures to results/xen-lane/
#   bash scripts/test-xen.sh [--record] remus|response|agent   only test/xen/NAME.xen.ts
#                                       (agent: Hefery's agent in dom0 drives xl remus)
# Needs root, qemu-system-x86 and the project's npm dependencies (scripts/setup.sh).
# Best run on an otherwise idle machine: nested TCG's clock breaks under heavy load.
set -euo pipefail
cd "$(dirname "$0")/.."
record=0
[ "${1:-}" = "--record" ] && { record=1; shift; }
files=(test/xen/*.xen.ts)
if [ -n "${1:-}" ]; then
  [ -f "test/xen/$1.xen.ts" ] || { echo "test-xen: no test/xen/$1.xen.ts" >&2; exit 1; }
  files=("test/xen/$1.xen.ts")
fi
[ "$(id -u)" = 0 ] || { echo "test-xen: needs root (network namespace, tap device)" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "test-xen: qemu-system-x86_64 is missing (run scripts/setup.sh)" >&2; exit 1; }
[ -d node_modules/esbuild ] || { echo "test-xen: npm dependencies missing (run scripts/setup.sh)" >&2; exit 1; }
# Whatever happens to the test process, leave no QEMU or namespace behind.
trap 'bash scripts/xen-lane/boot.sh stop >/dev/null 2>&1 || true' EXIT
mkdir -p .artifacts/xen-lane
status=0
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}" 2>&1 \
  | tee .artifacts/xen-lane/test-output.txt || status=1
if [ "$record" = 1 ]; then
  mkdir -p results/xen-lane
  for f in remus.json response.json agent.json; do
    [ -s ".artifacts/xen-lane/$f" ] && cp ".artifacts/xen-lane/$f" "results/xen-lane/$f" && echo "test-xen: recorded results/xen-lane/$f"
  done
  [ -s .artifacts/xen-lane/remus-events.jsonl ] && node --import tsx scripts/xen-lane/plot.ts
fi
exit $status
