#!/usr/bin/env bash
# The trainer's GPU check, one short script for a lent GPU machine (≤ 8 minutes on one
# H100/H200; nothing downloaded): pure bf16 vs fp32 master weights, peak memory and tokens/s at
# micro-batch 8 x 1k and 8 x 4k tokens with and without gradient checkpointing, and MFU, on a
# random model with Qwen2-VL-2B's dimensions. `--smoke` runs the same code path on CPU with a
# reduced model (about a minute; the test suite runs it). The Python is ADAMLLM_PYTHON (a CUDA
# torch venv on the GPU machine), else the project's .venv-models.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${ADAMLLM_PYTHON:-.venv-models/bin/python}"
[ -x "$py" ] || py=python3
"$py" -c 'import torch, transformers; print(f"gpu-check: torch {torch.__version__}, transformers {transformers.__version__}, cuda {torch.cuda.is_available()}")' >&2
exec "$py" bench/gpu_check.py "$@"
