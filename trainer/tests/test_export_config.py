"""The exported config.json carries both RoPE layouts: transformers 5's rope_parameters, and the
published Qwen2-VL form (rope_scaling {"type": "mrope", "mrope_section"}, rope_theta, torch_dtype)
that transformers 4.x and vLLM read; a vLLM that finds no rope_scaling.mrope_section would serve
the model with 1-D RoPE. Both must agree, and transformers must still load the folder."""

import json
import shutil
import struct

import pytest
import torch
from transformers import AutoConfig, Qwen2VLForConditionalGeneration

from adamllm_trainer.data import Encoder
from adamllm_trainer.export import save_hf
from conftest import chat_row

SAFETENSORS = {"BF16": "bfloat16", "F16": "float16", "F32": "float32"}


def stored_dtypes(folder) -> set:
    """The dtypes of every tensor in the folder's safetensors files, read from their headers."""
    out = set()
    for f in folder.glob("*.safetensors"):
        with f.open("rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            out |= {SAFETENSORS[v["dtype"]] for k, v in json.loads(fh.read(n)).items() if k != "__metadata__"}
    return out


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
def test_exported_config_carries_both_rope_layouts_and_the_weights_dtype(make_config, tiny_vl, tmp_path, dtype):
    cfg = make_config(export={"dtype": dtype})
    model = Qwen2VLForConditionalGeneration.from_pretrained(tiny_vl, dtype=torch.float32).eval()
    dst = tmp_path / "hf"
    save_hf(model, cfg, dst)
    c = json.loads((dst / "config.json").read_text())
    text = c["text_config"]
    rope = text["rope_parameters"]  # transformers 5's layout, kept
    section, theta = rope["mrope_section"], rope["rope_theta"]
    for where in (c, text):  # the published flat layout at the top, and inside text_config
        assert where["rope_scaling"] == {"type": "mrope", "mrope_section": section}
        assert where["rope_theta"] == theta
        assert where["torch_dtype"] == dtype
    assert stored_dtypes(dst) == {dtype}
    # what vLLM's patch_rope_scaling_dict requires of rope_scaling: no rope_type that contradicts type
    assert c["rope_scaling"].get("rope_type", c["rope_scaling"]["type"]) == c["rope_scaling"]["type"]

    loaded = AutoConfig.from_pretrained(dst)
    assert loaded.text_config.rope_parameters["mrope_section"] == section
    assert loaded.text_config.rope_parameters["rope_theta"] == theta
    assert loaded.text_config.rope_parameters["rope_type"] == "default"

    # the model loads, and the legacy fields change nothing transformers builds: the same logits
    # (on an image prompt, where M-RoPE's sections matter) as from the transformers-5 layout alone
    plain = tmp_path / "plain"
    shutil.copytree(dst, plain)
    for where in (c, text):
        for key in ("rope_scaling", "rope_theta", "torch_dtype"):
            where.pop(key)
    (plain / "config.json").write_text(json.dumps(c))
    ex, _ = Encoder(cfg).encode(chat_row(), with_pixels=True)
    ids = torch.from_numpy(ex["input_ids"]).long()[None]
    inputs = {"input_ids": ids, "pixel_values": ex["pixel_values"], "image_grid_thw": ex["image_grid_thw"],
              "mm_token_type_ids": (ids == model.config.image_token_id).int()}
    logits = []
    for folder in (dst, plain):
        again = Qwen2VLForConditionalGeneration.from_pretrained(folder, dtype=torch.float32).eval()
        assert again.config.text_config.rope_parameters["mrope_section"] == section
        with torch.no_grad():
            logits.append(again(**inputs).logits)
    assert torch.equal(logits[0], logits[1])
