"""Export of the trained model: a Hugging Face folder (LoRA merged; tokenizer, chat template,
processor and generation config copied from the base) in the base's dtype as sharded
safetensors, which transformers and vLLM load as they load the base; and, when asked, the
transformers.js ONNX layout the onnx backend loads, validated by comparing greedy outputs of
ONNX and PyTorch on prompts from the training set. A mismatch fails the export loudly.

Rank 0 exports; under FSDP every rank first helps gather the full weights."""

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from .config import TrainConfig, save_resolved
from .data import Encoder, first_rows
from .events import TrainerError, emit
from .hf_config import fix_config
from .model import base_dtype, hf_model, is_fsdp
from .onnx_export import export_vl, mark_external

WEIGHTS = (".safetensors", ".bin", ".pt", ".pth")


def copy_base_files(base: Path, dst: Path) -> list:
    """Everything of the base folder but its weights and config.json: tokenizer files, chat
    template, preprocessor and generation config."""
    copied = []
    for f in sorted(base.iterdir()):
        if f.is_file() and not f.name.endswith(WEIGHTS) and f.name not in ("config.json", "model.safetensors.index.json"):
            shutil.copy2(f, dst / f.name)
            copied.append(f.name)
    return copied


def export_dtype(cfg: TrainConfig) -> torch.dtype:
    return base_dtype(cfg.base_model) if cfg.export.dtype == "base" else getattr(torch, cfg.export.dtype)


def final_model(net, cfg: TrainConfig, gathered: dict | None = None):
    """The trained model on CPU in fp32 (LoRA merged). `gathered`: FSDP's full state dict."""
    model = hf_model(net)
    if gathered is not None:
        from transformers import Qwen2VLForConditionalGeneration

        model = Qwen2VLForConditionalGeneration.from_pretrained(cfg.base_model, dtype=torch.float32)
        model.load_state_dict({k.removeprefix("hf."): v for k, v in gathered.items()}, strict=False)
    if cfg.finetuning == "lora":
        model = model.merge_and_unload()
    return model.to("cpu", torch.float32).eval()


def save_hf(model, cfg: TrainConfig, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    dtype = export_dtype(cfg)
    model.to(dtype).save_pretrained(tmp, max_shard_size=cfg.export.max_shard_size)
    model.to(torch.float32)
    copy_base_files(Path(cfg.base_model), tmp)
    fix_config(tmp)  # both config layouts: transformers 5, and rope_scaling/torch_dtype for vLLM
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)


def save_onnx(model, hf_dir: Path, dst: Path) -> Path:
    """The ONNX folder, written beside dst; onnx_from_hf renames it into place once validated."""
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "onnx").mkdir(parents=True)
    for f in hf_dir.iterdir():
        if f.is_file() and not f.name.endswith(WEIGHTS) and f.name != "model.safetensors.index.json":
            shutil.copy2(f, tmp / f.name)
    with torch.no_grad():
        mark_external(tmp, export_vl(model, tmp))
    return tmp


def validation_inputs(cfg: TrainConfig, rows: list, k: int) -> list:
    """The first user turn of the first k rows (a completion row's prompt) as generation
    prompts, encoded like training."""
    enc = Encoder(cfg)
    out = []
    for row in rows[:k]:
        if cfg.sequence == "completion":  # the prompt alone, as the onnx backend sends it
            ids = torch.tensor([enc.tok(row["prompt"], add_special_tokens=False)["input_ids"]], dtype=torch.long)
            if ids.shape[1]:
                out.append({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
            continue
        # the first user turn with an empty answer, encoded exactly as in training
        probe = {"messages": [row["messages"][0], {"role": "assistant", "content": ""}], "images": row.get("images") or []}
        try:
            ex, _ = enc.encode(probe, with_pixels=True)
        except OSError:
            ex = None
        if ex is None:
            continue
        # drop the empty assistant turn's "<|im_end|>\n": the prompt ends at the assistant header
        tail = enc.tok("<|im_end|>\n", add_special_tokens=False)["input_ids"]
        ids = torch.from_numpy(ex["input_ids"][: len(ex["input_ids"]) - len(tail)]).long()[None]
        item = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        if "pixel_values" in ex:
            item["pixel_values"] = ex["pixel_values"]
            item["image_grid_thw"] = ex["image_grid_thw"].long()
        out.append(item)
    return out


def onnx_greedy(folder: Path, model, inputs: dict, new_tokens: int, eos: set) -> tuple:
    """Greedy decoding with the three graphs, as transformers.js runs them."""
    sess = {n: ort.InferenceSession(str(folder / "onnx" / f"{n}.onnx")) for n in ("vision_encoder", "embed_tokens", "decoder_model_merged")}
    dec = sess["decoder_model_merged"]
    ids = inputs["input_ids"]
    image_token = model.config.image_token_id
    mm = (ids == image_token).int()
    emb = sess["embed_tokens"].run(None, {"input_ids": ids.numpy()})[0]
    if "pixel_values" in inputs:
        feats = sess["vision_encoder"].run(None, {"pixel_values": inputs["pixel_values"].numpy(), "grid_thw": inputs["image_grid_thw"].numpy()})[0]
        emb[(ids == image_token).numpy()] = feats
    pos, delta = model.model.get_rope_index(ids, mm, image_grid_thw=inputs.get("image_grid_thw"))
    past = {i.name: np.zeros([1, i.shape[1], 0, i.shape[3]], np.float32) for i in dec.get_inputs() if i.name.startswith("past_key_values")}
    out = dec.run(None, {"inputs_embeds": emb, "attention_mask": np.ones((1, ids.shape[1]), np.int64), "position_ids": pos.numpy(), **past})
    first_logits = out[0][0, -1].copy()
    generated, length = [], ids.shape[1]
    for _ in range(new_tokens):
        nxt = int(out[0][0, -1].argmax())
        if nxt in eos:
            break
        generated.append(nxt)
        past = {n.name: v for n, v in zip(dec.get_inputs()[3:], out[1:])}
        step_emb = sess["embed_tokens"].run(None, {"input_ids": np.array([[nxt]], np.int64)})[0]
        position = (delta + length).view(1, 1, 1).repeat(3, 1, 1).numpy()
        length += 1
        out = dec.run(None, {"inputs_embeds": step_emb, "attention_mask": np.ones((1, length), np.int64), "position_ids": position, **past})
    return generated, first_logits


def validate(model, cfg: TrainConfig, onnx_dir: Path, rows: list) -> dict:
    """Greedy ids equal, and first-step logits within 1e-3 of their scale (max |logit|, at
    least 1): fp32 kernels of two runtimes differ by rounding, which grows with the logits."""
    gen = json.loads((onnx_dir / "generation_config.json").read_text()) if (onnx_dir / "generation_config.json").is_file() else {}
    eos = set(gen.get("eos_token_id") if isinstance(gen.get("eos_token_id"), list) else [gen.get("eos_token_id")]) - {None}
    prompts = validation_inputs(cfg, rows, cfg.export.validate_prompts)
    max_diff, scale, results = 0.0, 1.0, []
    for inputs in prompts:
        mm = (inputs["input_ids"] == model.config.image_token_id).int()
        with torch.no_grad():
            ref = model.generate(**inputs, mm_token_type_ids=mm, max_new_tokens=cfg.export.validate_new_tokens, do_sample=False)
            ref_logits = model(**inputs, mm_token_type_ids=mm).logits[0, -1].numpy()
        ref_ids = ref[0, inputs["input_ids"].shape[1]:].tolist()
        while ref_ids and ref_ids[-1] in eos:
            ref_ids.pop()
        got, first = onnx_greedy(onnx_dir, model, inputs, cfg.export.validate_new_tokens, eos)
        max_diff = max(max_diff, float(np.abs(first - ref_logits).max()))
        scale = max(scale, float(np.abs(ref_logits).max()))
        results.append({"pytorch": ref_ids, "onnx": got, "equal": ref_ids == got})
    report = {"prompts": len(results), "greedy_equal": all(r["equal"] for r in results), "max_first_logit_diff": max_diff,
              "logit_scale": scale, "bound": 1e-3 * scale}
    if not results or not report["greedy_equal"] or max_diff >= 1e-3 * scale:
        raise TrainerError("export", f"ONNX export does not reproduce PyTorch: {json.dumps({**report, 'outputs': results})}")
    return report


def export_model(net, cfg: TrainConfig, d) -> dict | None:
    """Exports on rank 0 (returns the paths there, None elsewhere)."""
    gathered = None
    if is_fsdp(net):  # FSDP: every rank takes part in gathering the full weights
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        gathered = get_model_state_dict(net, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if not d.main:
        return None
    out = Path(cfg.output_dir)
    model = final_model(net, cfg, gathered)
    paths = {}
    if cfg.export.hf or cfg.export.onnx:
        save_hf(model, cfg, out / "hf")
        paths["hf"] = str(out / "hf")
        paths["dtype"] = str(export_dtype(cfg)).replace("torch.", "")
    if cfg.export.onnx:
        paths.update(onnx_from_hf(cfg, model))
    # beside hf/ and onnx/, not inside: their content hashes are the models' revisions, and the
    # config names this run's absolute paths
    save_resolved(cfg, out)
    emit("export", **paths)
    return paths


def onnx_from_hf(cfg: TrainConfig, model=None) -> dict:
    """output_dir/onnx from output_dir/hf (the weights as saved: a bf16 export is what ONNX
    reproduces), validated against PyTorch."""
    from transformers import Qwen2VLForConditionalGeneration

    out = Path(cfg.output_dir)
    if model is None or export_dtype(cfg) != torch.float32:
        model = Qwen2VLForConditionalGeneration.from_pretrained(out / "hf", dtype=torch.float32).eval()
    tmp = save_onnx(model, out / "hf", out / "onnx")
    try:
        report = validate(model, cfg, tmp, first_rows(cfg, cfg.export.validate_prompts))
    except TrainerError:
        shutil.rmtree(tmp, ignore_errors=True)  # never leave an unvalidated export to be picked up
        raise
    shutil.rmtree(out / "onnx", ignore_errors=True)
    tmp.rename(out / "onnx")
    return {"onnx": str(out / "onnx"), "validation": report}
