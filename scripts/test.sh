#!/usr/bin/env bash
# Quick start, tests: set up, then run the whole Jest suite. The tests start their own
# Temporal dev server and create (then drop) a database on the Postgres at TEST_POSTGRES_URL
# (default postgresql://postgres@127.0.0.1:5432/postgres), and use the tiny models that
# scripts/build-models.sh builds on the spot. Extra arguments go to Jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-models.sh
exec node node_modules/jest/bin/jest.js "$@"
