#!/usr/bin/env bash
# Runs every test of Hefery on real components. Set-up included.
#   unit         pure TypeScript, plain Node
#   integration  real libvirtd + QEMU (TCG) guest, real sshd on loopback
#   reliability  faults, bad input and load on real parts (test/reliability)
#   e2e          real VS Code (code-server) driven by Chromium
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mkdir -p .artifacts
: > .artifacts/test-output.txt
status=0
run() {
  echo "== $*"
  "$@" 2>&1 | tee -a .artifacts/test-output.txt || status=1
}
run node --import tsx --test --test-reporter=spec \
  $(find host-agent/test extension/test webview/test -name '*.test.ts' 2>/dev/null | sort)
if compgen -G "test/integration/*.test.ts" >/dev/null; then
  run node --import tsx --test --test-concurrency=1 --test-reporter=spec $(ls test/integration/*.test.ts | sort)
fi
if compgen -G "test/reliability/*.test.ts" >/dev/null; then
  run node --import tsx --test --test-concurrency=1 --test-reporter=spec $(ls test/reliability/*.test.ts | sort)
fi
if compgen -G "test/e2e/*.e2e.ts" >/dev/null; then
  run node --import tsx --test --test-concurrency=1 --test-reporter=spec $(ls test/e2e/*.e2e.ts | sort)
fi
# Nothing may outlive the suites: guests, namespaces, bridges, sshd, agents, browsers.
echo "== bash scripts/leftovers.sh"
if ! bash scripts/leftovers.sh 2>&1 | tee -a .artifacts/test-output.txt; then
  echo "the tests left the processes, domains or links above behind"
  status=1
fi
passed=$(awk '/^ℹ pass /{s+=$3} END{print s+0}' .artifacts/test-output.txt)
failed=$(awk '/^ℹ fail /{s+=$3} END{print s+0}' .artifacts/test-output.txt)
skipped=$(awk '/^ℹ skipped /{s+=$3} END{print s+0}' .artifacts/test-output.txt)
[ "$failed" -eq 0 ] || status=1
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
