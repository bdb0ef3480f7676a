#!/usr/bin/env bash
# One-stop set-up on a fresh Debian 12 machine (root): system packages,
# npm dependencies, the native libvirt addon, bundles, and the test guest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build:native
node esbuild.mjs
if [ -x scripts/build-guest.sh ]; then bash scripts/build-guest.sh; fi
