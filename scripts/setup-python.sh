#!/usr/bin/env bash
# The project's Python environment for the trainer (and the tiny-model build): .venv-models
# with trainer/requirements.txt (torch CPU, transformers, peft, onnx). Skipped when the venv
# already holds the current requirements. ADAMLLM_PYTHON names another interpreter instead
# (e.g. a CUDA venv on a GPU machine); then nothing is installed here.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${ADAMLLM_PYTHON:-}" ] && exit 0
stamp=.venv-models/.requirements
want=$(cat trainer/requirements.txt models/requirements.txt | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
if [ ! -x .venv-models/bin/python ]; then
  echo "setup: Python venv .venv-models (torch CPU, transformers, peft, onnx)"
  python3 -m venv .venv-models
fi
# (pip's notes about this machine's extra index folders are noise; errors still show)
.venv-models/bin/pip install --quiet --disable-pip-version-check -r trainer/requirements.txt 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
echo "$want" > "$stamp"
