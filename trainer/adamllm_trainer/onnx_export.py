"""ONNX export in the transformers.js layout (Qwen2-VL: vision_encoder, embed_tokens,
decoder_model_merged; text-only Qwen2: model.onnx). Used by the trainer's export and by
models/build_tiny_models.py; the config.json fixes transformers.js needs are in hf_config.py."""

import json
import os
from pathlib import Path

import onnx
import torch
from transformers.models.qwen2_vl.modeling_qwen2_vl import apply_rotary_pos_emb, apply_rotary_pos_emb_vision, repeat_kv


class VisionEncoder(torch.nn.Module):
    """HF's vision tower loops over grid_thw in Python (so export would freeze the grid).  This
    wrapper reuses its weights but computes the rotary (h, w) ids with tensor ops and replaces
    the per-image attention split with a block-diagonal mask, so any number/size of images works."""

    def __init__(self, visual):
        super().__init__()
        self.visual, self.m = visual, visual.spatial_merge_size

    def forward(self, pixel_values, grid_thw):
        m, n = self.m, pixel_values.shape[0]
        t, h, w = grid_thw.unbind(-1)
        idx = torch.arange(n, device=pixel_values.device)
        img_len = t * h * w
        img_end = img_len.cumsum(0)
        img = (idx[:, None] >= img_end[None, :]).sum(1)  # which image each patch belongs to
        local = idx - (img_end - img_len)[img]
        frame, p = local // (h * w)[img], local % (h * w)[img]
        # Patches come in merge blocks: (h/m, w/m, m, m) flattened, as the processor orders them.
        blocks_w = w[img] // m
        blk, mh, mw = p // (m * m), (p // m) % m, p % m
        pos = torch.stack([(blk // blocks_w) * m + mh, (blk % blocks_w) * m + mw], dim=-1)
        # Each frame of each image attends only to itself.
        seg = (t.cumsum(0) - t)[img] + frame
        mask = torch.where(seg[:, None] == seg[None, :], 0.0, torch.finfo(torch.float32).min)

        x = self.visual.patch_embed(pixel_values)
        cos, sin = self.visual.rotary_pos_emb(x, pos)
        for block in self.visual.blocks:
            attn, y = block.attn, block.norm1(x)
            q, k, v = attn.qkv(y).reshape(n, 3, attn.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
            q, k = apply_rotary_pos_emb_vision(q, k, cos, sin)
            q, k, v = (z.transpose(0, 1) for z in (q, k, v))  # [heads, n, head_dim]
            weights = torch.softmax(q @ k.transpose(1, 2) * attn.scaling + mask, dim=-1)
            x = x + attn.proj((weights @ v).transpose(0, 1).reshape(n, -1))
            x = x + block.mlp(block.norm2(x))
        return self.visual.merger(x)


class EmbedTokens(torch.nn.Module):
    """input_ids -> inputs_embeds (transformers.js merges image features in between)."""

    def __init__(self, embed):
        super().__init__()
        self.embed = embed

    def forward(self, input_ids):
        return self.embed(input_ids)


class Decoder(torch.nn.Module):
    """Decoder with explicit KV cache in/out and an explicit causal + padding mask.  Reuses the
    HF layers' weights; HF's Cache objects and mask helpers do not export with dynamic shapes."""

    def __init__(self, text_model, lm_head, embed_inputs: bool):
        super().__init__()
        self.text, self.lm_head, self.embed_inputs = text_model, lm_head, embed_inputs

    def forward(self, inputs, attention_mask, position_ids, past_key_values: list[torch.Tensor]):
        h = self.text.embed_tokens(inputs) if self.embed_inputs else inputs
        b, s, past = h.shape[0], h.shape[1], past_key_values[0].shape[2]
        cos, sin = self.text.rotary_emb(h, position_ids)  # M-RoPE when position_ids is [3, b, s]
        q_pos = torch.arange(s, device=h.device) + past
        k_pos = torch.arange(attention_mask.shape[1], device=h.device)
        allowed = (k_pos[None, :] <= q_pos[:, None])[None] & attention_mask[:, None, :].bool()
        mask = torch.where(allowed, 0.0, torch.finfo(torch.float32).min)[:, None]  # [b,1,s,total]
        presents = []
        for i, layer in enumerate(self.text.layers):
            a, y = layer.self_attn, layer.input_layernorm(h)
            q, k, v = (proj(y).view(b, s, -1, a.head_dim).transpose(1, 2)
                       for proj in (a.q_proj, a.k_proj, a.v_proj))
            q, k = apply_rotary_pos_emb(q, k, cos, sin)
            k = torch.cat([past_key_values[2 * i], k], dim=2)
            v = torch.cat([past_key_values[2 * i + 1], v], dim=2)
            presents += [k, v]
            k, v = repeat_kv(k, a.num_key_value_groups), repeat_kv(v, a.num_key_value_groups)
            weights = torch.softmax(q @ k.transpose(2, 3) * a.scaling + mask, dim=-1)
            h = h + a.o_proj((weights @ v).transpose(1, 2).reshape(b, s, -1))
            h = h + layer.mlp(layer.post_attention_layernorm(h))
        return (self.lm_head(self.text.norm(h)), *presents)


# A protobuf cannot exceed 2 GiB: above this many bytes of weights a graph keeps them in
# <name>.onnx_data beside it (a 2B decoder in fp32 is ~6 GB). The variable is for tests.
EXTERNAL_ABOVE = int(os.environ.get("ADAMLLM_ONNX_EXTERNAL_DATA_ABOVE", 1 << 30))


def export(module, args: tuple, path: Path, names_in: dict, names_out: dict) -> bool:
    """torch.onnx.export(dynamo=True, opset 18) with every named dim dynamic, then rename the
    exporter's symbols (s0, s1 + s2, ...) to the names transformers.js looks for: it builds the
    empty first-step cache from the KV inputs' metadata and only knows `batch_size` (other
    symbolic dims become 0), so head counts and head size stay static. Returns whether the
    weights went to an external data file."""
    weights = sum(p.numel() * p.element_size() for p in module.parameters())
    external = weights > EXTERNAL_ABOVE
    dyn = torch.export.Dim.DYNAMIC
    flat_in = list(names_in)
    spec, pos = {}, 0
    for arg_name, arg in zip(module.forward.__code__.co_varnames[1:], args):
        tensors = arg if isinstance(arg, list) else [arg]
        dims = [{d: dyn for d, nm in enumerate(names_in[flat_in[pos + j]]) if isinstance(nm, str)}
                for j in range(len(tensors))]
        spec[arg_name] = dims if isinstance(arg, list) else dims[0]
        pos += len(tensors)
    module.eval()
    torch.onnx.export(module, args, str(path), dynamo=True, opset_version=18, external_data=external,
                      input_names=flat_in, output_names=list(names_out), dynamic_shapes=spec,
                      optimize=True, verbose=False)
    model = onnx.load(str(path))
    for values, names in ((model.graph.input, names_in), (model.graph.output, names_out)):
        for value in values:
            for dim, name in zip(value.type.tensor_type.shape.dim, names[value.name]):
                if isinstance(name, str):
                    dim.dim_param = name
                elif dim.HasField("dim_param"):
                    raise RuntimeError(f"{path.name}: {value.name} dim should be static = {name}")
    del model.graph.value_info[:]  # stale symbol names; onnxruntime re-infers shapes
    if not external:
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
        return False
    data = path.with_name(path.name + "_data")  # the file name transformers.js looks for
    for f in path.parent.iterdir():
        if f.name != path.name and f.name.startswith(path.name):
            f.unlink()  # the exporter's own data file(s), now loaded into `model`
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=data.name, size_threshold=1024)  # small constants stay inline: shape inference reads them
    onnx.checker.check_model(str(path))  # by path: the in-memory check refuses > 2 GiB
    return True


def kv_names(cfg, prefix: str, length: str) -> dict:
    """Names/dims of the cache tensors: [batch_size, kv_heads, length, head_dim]."""
    shape = ["batch_size", cfg.num_key_value_heads, length, cfg.head_dim]
    return {f"{prefix}.{i}.{kv}": shape for i in range(cfg.num_hidden_layers) for kv in ("key", "value")}


def mark_external(folder: Path, external: dict) -> None:
    """transformers.js loads <name>.onnx_data only when config.json says so."""
    files = {name: 1 for name, ext in external.items() if ext}
    if not files:
        return
    cfg = json.loads((folder / "config.json").read_text())
    cfg.setdefault("transformers.js_config", {})["use_external_data_format"] = files
    (folder / "config.json").write_text(json.dumps(cfg, indent=2))


def export_vl(vl, folder: Path) -> dict:
    """Export the three Qwen2-VL graphs; returns {file: weights in external data}. Example
    inputs: batch 2, two images of different grids and a non-empty past, so that no dynamic
    dimension specialises to 0 or 1."""
    cfg, onnx_dir = vl.config.text_config, folder / "onnx"
    grids = torch.tensor([[1, 4, 6], [1, 6, 4]])
    pixels = torch.randn(int(grids.prod(-1).sum()), 1176)
    external = {}
    external["vision_encoder.onnx"] = export(VisionEncoder(vl.model.visual), (pixels, grids), onnx_dir / "vision_encoder.onnx",
           {"pixel_values": ["num_patches", 1176], "grid_thw": ["num_images", 3]},
           {"image_features": ["num_image_tokens", cfg.hidden_size]})
    external["embed_tokens.onnx"] = export(EmbedTokens(vl.model.language_model.embed_tokens), (torch.randint(0, 100, (2, 5)),),
           onnx_dir / "embed_tokens.onnx", {"input_ids": ["batch_size", "sequence_length"]},
           {"inputs_embeds": ["batch_size", "sequence_length", cfg.hidden_size]})
    b, s, p = 2, 5, 3
    past = [torch.randn(b, cfg.num_key_value_heads, p, cfg.head_dim)
            for _ in range(2 * cfg.num_hidden_layers)]
    args = (torch.randn(b, s, cfg.hidden_size), torch.ones(b, p + s, dtype=torch.long),
            torch.arange(s).repeat(3, b, 1) + p, past)
    external["decoder_model_merged.onnx"] = export(Decoder(vl.model.language_model, vl.lm_head, embed_inputs=False), args,
           onnx_dir / "decoder_model_merged.onnx",
           {"inputs_embeds": ["batch_size", "sequence_length", cfg.hidden_size],
            "attention_mask": ["batch_size", "total_sequence_length"],
            "position_ids": [3, "batch_size", "sequence_length"],
            **kv_names(cfg, "past_key_values", "past_sequence_length")},
           {"logits": ["batch_size", "sequence_length", cfg.vocab_size],
            **kv_names(cfg, "present", "total_sequence_length")})
    return external


def export_lm(lm, folder: Path) -> None:
    """Export the text-only LM as onnx/model.onnx (input_ids in, 2-D position_ids)."""
    cfg, b, s, p = lm.config, 2, 5, 3
    past = [torch.randn(b, cfg.num_key_value_heads, p, cfg.head_dim)
            for _ in range(2 * cfg.num_hidden_layers)]
    args = (torch.randint(0, 100, (b, s)), torch.ones(b, p + s, dtype=torch.long),
            torch.arange(s).repeat(b, 1) + p, past)
    export(Decoder(lm.model, lm.lm_head, embed_inputs=True), args, folder / "onnx" / "model.onnx",
           {"input_ids": ["batch_size", "sequence_length"],
            "attention_mask": ["batch_size", "total_sequence_length"],
            "position_ids": ["batch_size", "sequence_length"],
            **kv_names(cfg, "past_key_values", "past_sequence_length")},
           {"logits": ["batch_size", "sequence_length", cfg.vocab_size],
            **kv_names(cfg, "present", "total_sequence_length")})


