#!/usr/bin/env bash
# Quick start, main job: set up, then run the whole pipeline on a generated sample dataset
# with the embedded stack (Temporal dev server + PGlite, or TEMPORAL_ADDRESS / DATABASE_URL).
# `--train` goes on through training, evaluation and the report with the tiny test model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# --train also needs the tiny test model
case " $* " in *" --train "*) bash scripts/build-models.sh ;; esac
exec node dist/cli/main.js demo "$@"
