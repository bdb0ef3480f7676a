#!/usr/bin/env bash
# Runs every test of Hefery on real components. Set-up included.
#   unit         pure TypeScript, plain Node
#   integration  real libvirtd + QEMU (TCG) guest, real sshd on loopback
#   e2e          real VS Code (code-server) driven by Chromium
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p .artifacts
status=0
run() { echo "== $*"; "$@" || status=1; }
run node --import tsx --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=junit --test-reporter-destination=.artifacts/unit.xml \
  $(find host-agent/test extension/test webview/test -name '*.test.ts' 2>/dev/null | sort)
if compgen -G "test/integration/*.test.ts" >/dev/null; then
  run node --import tsx --test --test-concurrency=1 --test-reporter=spec $(ls test/integration/*.test.ts | sort)
fi
exit $status
