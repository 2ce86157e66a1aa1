#!/usr/bin/env bash
# The project's Python environment and the tiny test models: .venv-models gets the trainer's
# dependencies (torch CPU, transformers, peft, onnx; trainer/requirements.txt), then the tiny
# models (random weights, a tokenizer trained on the spot; nothing is downloaded) are built
# into models/out. Skipped when models/out is already built from the current scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
out=models/out
stamp="$out/.built-from"
want=$(cat models/build_tiny_models.py models/requirements.txt models/tiny_corpus.txt trainer/requirements.txt trainer/adamllm_trainer/onnx_export.py | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
if [ ! -x .venv-models/bin/python ]; then
  echo "models: creating .venv-models (torch CPU, transformers, peft, onnx)"
  python3 -m venv .venv-models
fi
# (pip's notes about this machine's extra index folders are noise; errors still show)
.venv-models/bin/pip install --quiet --disable-pip-version-check -r trainer/requirements.txt 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
echo "models: building tiny Qwen2-VL and Qwen2 into $out"
rm -rf "$out"
HF_HUB_DISABLE_PROGRESS_BARS=1 .venv-models/bin/python models/build_tiny_models.py --out "$out" > /dev/null
echo "$want" > "$stamp"
