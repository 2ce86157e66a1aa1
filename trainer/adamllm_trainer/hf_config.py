"""config.json of a saved Qwen2-VL folder, made readable by every loader that serves it.

transformers 5.x writes the text settings under text_config and RoPE as `rope_parameters`
(rope_theta and M-RoPE's mrope_section inside), with `dtype` for the weight type. Older readers
look elsewhere: transformers.js reads the text settings at the top; transformers 4.x and vLLM
read `rope_scaling` (a vLLM that finds no `rope_scaling.mrope_section` runs plain 1-D RoPE, so
the model silently loses its image positions), `rope_theta` and `torch_dtype`. So the folder
carries both layouts: the transformers-5 one as saved, plus the published Qwen2-VL form
(`"rope_scaling": {"type": "mrope", "mrope_section": [...]}`, top-level `rope_theta`,
`torch_dtype`), at the top and in text_config. `rope_scaling` has no `rope_type`: vLLM refuses a
`type` and a `rope_type` that differ."""

import json
import struct
from collections import Counter
from pathlib import Path

# the text settings transformers.js reads at the top of config.json
LIFTED = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
          "num_key_value_heads", "head_dim", "rms_norm_eps", "max_position_embeddings", "bos_token_id",
          "eos_token_id", "pad_token_id")
SAFETENSORS_DTYPES = {"BF16": "bfloat16", "F16": "float16", "F32": "float32", "F64": "float64"}


def weights_dtype(folder: Path) -> str | None:
    """The dtype most tensors of the folder's safetensors files are stored in (headers only)."""
    counts = Counter()
    for f in sorted(Path(folder).glob("*.safetensors")):
        with f.open("rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        for name, entry in header.items():
            if name != "__metadata__":
                counts[entry["dtype"]] += 1
    if not counts:
        return None
    return SAFETENSORS_DTYPES.get(counts.most_common(1)[0][0])


def _legacy_rope(section: dict) -> None:
    """rope_scaling and rope_theta beside a section's rope_parameters (in place)."""
    rope = section.get("rope_parameters")
    if not isinstance(rope, dict):
        return
    if "rope_theta" in rope:
        section["rope_theta"] = rope["rope_theta"]
    if "mrope_section" in rope:
        section["rope_scaling"] = {"type": "mrope", "mrope_section": list(rope["mrope_section"])}


def compat_config(cfg: dict, dtype: str | None) -> dict:
    """cfg (a saved config.json) with the text settings lifted to the top and the legacy RoPE and
    dtype fields added; the transformers-5 fields are kept as they are."""
    text = cfg.get("text_config")
    if isinstance(text, dict):
        _legacy_rope(text)
        if dtype:
            text["torch_dtype"] = dtype
        for key in LIFTED:
            if key in text:
                cfg.setdefault(key, text[key])
        # the top carries the text model's RoPE too: a flat (published) Qwen2-VL config has it there
        if "rope_parameters" in text and "rope_parameters" not in cfg:
            cfg.update({k: text[k] for k in ("rope_theta", "rope_scaling") if k in text})
    _legacy_rope(cfg)
    if dtype:
        cfg["torch_dtype"] = dtype
    return cfg


def fix_config(folder: Path) -> None:
    """Rewrites folder/config.json as compat_config, with torch_dtype that of the saved weights
    (else the config's own dtype)."""
    path = Path(folder) / "config.json"
    cfg = json.loads(path.read_text())
    dtype = weights_dtype(folder) or cfg.get("dtype") or cfg.get("torch_dtype")
    path.write_text(json.dumps(compat_config(cfg, dtype if isinstance(dtype, str) else None), indent=2))
