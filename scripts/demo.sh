#!/usr/bin/env bash
# Quick start, main job: set up, then run the demo with the embedded stack (Temporal dev server +
# PGlite, or TEMPORAL_ADDRESS / DATABASE_URL): build the demo world, train its base model,
# synthesizer and judge, adapt the base model in each comparison arm, evaluate, and write the
# comparison table. `--size test` runs a reduced world; `--sample [--train]` runs the data stages
# on a generated food sample with bad entries instead (--train needs the tiny test model).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
case " $* " in *" --train "*) bash scripts/build-models.sh ;; esac
exec node dist/cli/main.js demo "$@"
