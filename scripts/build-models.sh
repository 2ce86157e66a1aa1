#!/usr/bin/env bash
# The tiny test models (random weights, a tokenizer trained on the spot; nothing is
# downloaded), built into models/out with the project's Python venv (scripts/setup-python.sh).
# Skipped when models/out is already built from the current scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
out=models/out
stamp="$out/.built-from"
want=$(cat models/build_tiny_models.py models/requirements.txt models/tiny_corpus.txt trainer/requirements.txt trainer/adamllm_trainer/onnx_export.py trainer/adamllm_trainer/init_model.py | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then exit 0; fi
ADAMLLM_PYTHON= bash scripts/setup-python.sh
echo "models: building tiny Qwen2-VL and Qwen2 into $out"
rm -rf "$out"
HF_HUB_DISABLE_PROGRESS_BARS=1 .venv-models/bin/python models/build_tiny_models.py --out "$out" > /dev/null
echo "$want" > "$stamp"
