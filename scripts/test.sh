#!/usr/bin/env bash
# Quick start, tests: set up, then run the whole Jest suite. The tests start their own
# Temporal dev server and create (then drop) a database on the Postgres at TEST_POSTGRES_URL
# (default postgresql://postgres@127.0.0.1:5432/postgres). Extra arguments go to Jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node node_modules/jest/bin/jest.js "$@"
