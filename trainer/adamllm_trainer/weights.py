"""Which of the base model's weights a training run changed, trainable and frozen apart: the
check that a run really moved the model (a bf16 run whose updates round away changes almost
nothing) and left the frozen vision tower exactly as it was."""

from pathlib import Path

import torch
from safetensors.torch import load_file


def _tensors(folder: Path) -> dict:
    if (folder / "state.pt").is_file():  # a checkpoint: the trainable tensors only
        return torch.load(folder / "state.pt", weights_only=False, map_location="cpu")["trainable"]
    out = {}
    for f in sorted(folder.glob("*.safetensors")):
        out.update(load_file(f))
    return out


def _norm(name: str) -> str:
    # peft / wrapper prefixes differ from the base checkpoint's names
    for prefix in ("hf.", "base_model.model."):
        name = name.removeprefix(prefix)
    return name


def diff_weights(base: str, other: str) -> dict:
    ref = {_norm(k): v for k, v in _tensors(Path(base)).items()}
    got = {_norm(k): v for k, v in _tensors(Path(other)).items()}
    groups = {"vision": {"tensors": 0, "changed_tensors": 0, "elements": 0, "changed_elements": 0},
              "language": {"tensors": 0, "changed_tensors": 0, "elements": 0, "changed_elements": 0}}
    missing = []
    for name, t in got.items():
        key = next((k for k in (name, name.replace("model.language_model.", "model."), name.replace("model.", "model.language_model.", 1)) if k in ref), None)
        if key is None:
            missing.append(name)
            continue
        r = ref[key].to(torch.float32)
        changed = (t.to(torch.float32) != r)
        g = groups["vision" if ".visual." in f".{name}" else "language"]
        g["tensors"] += 1
        g["changed_tensors"] += int(bool(changed.any()))
        g["elements"] += changed.numel()
        g["changed_elements"] += int(changed.sum())
    for g in groups.values():
        g["changed_tensor_fraction"] = g["changed_tensors"] / g["tensors"] if g["tensors"] else None
        g["changed_element_fraction"] = g["changed_elements"] / g["elements"] if g["elements"] else None
    return {**groups, "not_in_base": missing[:20]}
