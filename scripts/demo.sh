#!/usr/bin/env bash
# The main job: set-up on a fresh machine, then the demo (see scripts/demo.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node --import tsx scripts/demo.ts "$@"
