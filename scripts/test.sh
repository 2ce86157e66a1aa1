#!/usr/bin/env bash
# Quick start, tests: set up, then run the whole Jest suite. The tests start their own
# Temporal dev server and create (then drop) a database on the Postgres at TEST_POSTGRES_URL
# (default postgresql://postgres@127.0.0.1:5432/postgres), and use the tiny models that
# scripts/build-models.sh builds on the spot, and real vLLM and llama.cpp servers
# (scripts/setup-vllm.sh, scripts/setup-llamacpp.sh).
# Extra arguments go to Jest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-models.sh
# the real vLLM server of the vllm tier, cached outside the repository (installs once, ~100 s);
# without it that tier is skipped and says so
bash scripts/setup-vllm.sh >/dev/null || echo "test: vLLM could not be installed; the vllm tier is skipped" >&2
# the real llama.cpp server of tests/integration/llamacpp.test.ts, also cached outside the
# repository (builds once, ~10 min on 2 cores; 16 s from the cached wheel); without it that file is skipped
bash scripts/setup-llamacpp.sh >/dev/null || echo "test: llama-cpp-python could not be installed; the llama.cpp tests are skipped" >&2
exec node node_modules/jest/bin/jest.js "$@"
