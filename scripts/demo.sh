#!/usr/bin/env bash
# Quick start, main job: set up, then run the whole pipeline on a generated sample dataset
# with the embedded stack (Temporal dev server + PGlite, or TEMPORAL_ADDRESS / DATABASE_URL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/cli/main.js demo "$@"
