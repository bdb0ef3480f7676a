#!/usr/bin/env bash
# One-stop set-up on a fresh Debian 12 machine (root): system packages,
# npm dependencies, the native libvirt addon, bundles, the test guest, and
# code-server for the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build:native
node esbuild.mjs
if [ -x scripts/build-guest.sh ]; then bash scripts/build-guest.sh; fi
# Node 24 + code-server for the end-to-end tests and the demo's VS Code (cached in .cache/e2e).
bash scripts/setup-e2e.sh
