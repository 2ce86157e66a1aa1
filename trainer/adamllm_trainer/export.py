"""Export of the trained model: a Hugging Face folder (LoRA merged; tokenizer, chat template,
processor and generation config copied from the base) and the transformers.js ONNX layout the
onnx backend loads, validated by comparing greedy outputs of ONNX and PyTorch on prompts from
the training set. A mismatch fails the export loudly."""

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from .config import TrainConfig
from .data import Encoder
from .events import TrainerError, emit
from .onnx_export import export_vl, lift_text_config

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


def final_model(model, cfg: TrainConfig):
    if cfg.finetuning == "lora":
        model = model.merge_and_unload()
    return model.to("cpu", torch.float32).eval()


def save_hf(model, cfg: TrainConfig, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    copy_base_files(Path(cfg.base_model), tmp)
    lift_text_config(tmp)
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)


def save_onnx(model, hf_dir: Path, dst: Path) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "onnx").mkdir(parents=True)
    for f in hf_dir.iterdir():
        if f.is_file() and not f.name.endswith(WEIGHTS):
            shutil.copy2(f, tmp / f.name)
    with torch.no_grad():
        export_vl(model, tmp)
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)


def validation_inputs(cfg: TrainConfig, rows: list, k: int) -> list:
    """The first user turn of the first k rows as generation prompts, encoded like training."""
    enc = Encoder(cfg)
    out = []
    for row in rows[:k]:
        # the first user turn with an empty answer, encoded exactly as in training
        probe = {"messages": [row["messages"][0], {"role": "assistant", "content": ""}], "images": row.get("images") or []}
        ex = enc.encode(probe)
        if ex is None:
            continue
        # drop the empty assistant turn's "<|im_end|>\n": the prompt ends at the assistant header
        tail = enc.tok("<|im_end|>\n", add_special_tokens=False)["input_ids"]
        ids = ex["input_ids"][: len(ex["input_ids"]) - len(tail)].long()[None]
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
    gen = json.loads((onnx_dir / "generation_config.json").read_text()) if (onnx_dir / "generation_config.json").is_file() else {}
    eos = set(gen.get("eos_token_id") if isinstance(gen.get("eos_token_id"), list) else [gen.get("eos_token_id")]) - {None}
    prompts = validation_inputs(cfg, rows, cfg.export.validate_prompts)
    max_diff, results = 0.0, []
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
        results.append({"pytorch": ref_ids, "onnx": got, "equal": ref_ids == got})
    report = {"prompts": len(results), "greedy_equal": all(r["equal"] for r in results), "max_first_logit_diff": max_diff}
    if not results or not report["greedy_equal"] or max_diff >= 1e-3:
        raise TrainerError("export", f"ONNX export does not reproduce PyTorch: {json.dumps({**report, 'outputs': results})}")
    return report


def export_model(model, cfg: TrainConfig, rows: list) -> dict:
    out = Path(cfg.output_dir)
    model = final_model(model, cfg)
    paths = {}
    if cfg.export.hf or cfg.export.onnx:
        save_hf(model, cfg, out / "hf")
        paths["hf"] = str(out / "hf")
    if cfg.export.onnx:
        save_onnx(model, out / "hf", out / "onnx")
        paths["onnx"] = str(out / "onnx")
        paths["validation"] = validate(model, cfg, out / "onnx", rows)
    emit("export", **paths)
    return paths
