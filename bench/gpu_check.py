"""The trainer's GPU check (bench/gpu-check.sh): nothing downloaded. A random-initialised model
with the real Qwen2-VL-2B-Instruct dimensions (or, with --smoke, a reduced one on CPU through
the same code path), the repository's tokenizer ids, synthetic batches with one 504x504 image
per sequence. Prints one JSON line per measurement, then a summary table:

1. fraction of the language model's weights changed after 3 steps at lr 1e-5 (no warmup):
   pure bf16 weights and AdamW state vs the trainer's fp32 master weights under bf16 autocast;
2. peak GPU memory and tokens/s per micro-batch shape (8 x 1k, 8 x 4k tokens), with and
   without gradient checkpointing (an out-of-memory is reported as such);
3. MFU = model FLOPs per token x tokens/s / peak dense bf16 FLOP/s, with model FLOPs per token
   = 6 x trainable parameters + 2 x frozen parameters that run forward (the vision tower runs
   on its image patches only, counted per text token as an approximation the line states).

Uses the trainer's own pieces: model.prepare (freezing, checkpointing, master weights),
model.CausalLMLoss (labelled-positions-only chunked loss) and the loop's autocast."""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "trainer"))

from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration  # noqa: E402

from adamllm_trainer.config import TrainConfig  # noqa: E402
from adamllm_trainer.model import CausalLMLoss, prepare  # noqa: E402

# Qwen/Qwen2-VL-2B-Instruct's config.json (the dimensions; the weights here are random)
QWEN2VL_2B = dict(
    text_config=dict(vocab_size=151936, hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                     num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
                     tie_word_embeddings=True, rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]}),
    vision_config=dict(depth=32, embed_dim=1280, hidden_size=1536, mlp_ratio=4, num_heads=16, in_channels=3, patch_size=14,
                       spatial_merge_size=2, temporal_patch_size=2),
    image_token_id=151655, video_token_id=151656, vision_start_token_id=151652, vision_end_token_id=151653,
    tie_word_embeddings=True)
SMOKE = dict(
    text_config=dict(vocab_size=4096, bos_token_id=4004, eos_token_id=4005, hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                     num_key_value_heads=2, max_position_embeddings=8192, rope_theta=1000000.0, rms_norm_eps=1e-6,
                     tie_word_embeddings=True, rope_scaling={"type": "mrope", "mrope_section": [4, 6, 6]}),
    vision_config=dict(depth=2, embed_dim=64, hidden_size=128, mlp_ratio=4, num_heads=4, in_channels=3, patch_size=14,
                       spatial_merge_size=2, temporal_patch_size=2),
    image_token_id=4000, video_token_id=4001, vision_start_token_id=4002, vision_end_token_id=4003, tie_word_embeddings=True)
# peak dense bf16 tensor FLOP/s (no sparsity) by device name
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 125e12}


def emit(**fields) -> None:
    print(json.dumps(fields), flush=True)


def build(spec: dict, device, dtype):
    cfg = Qwen2VLConfig(**spec)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2VLForConditionalGeneration._from_config(cfg, dtype=dtype, attn_implementation="sdpa")
    return model


def batch(spec: dict, micro: int, tokens: int, device, seed: int) -> dict:
    """micro sequences of `tokens` tokens, each with one 504x504 image (36x36 patches, 324
    image tokens), labels on the second half of the text."""
    g = torch.Generator().manual_seed(seed)
    vocab = min(spec["text_config"]["vocab_size"], 2048)  # the repository tokenizer's ids
    grid = torch.tensor([[1, 36, 36]])
    pads = 36 * 36 // 4
    ids = torch.randint(10, vocab, (micro, tokens), generator=g)
    ids[:, 1] = spec["vision_start_token_id"]
    ids[:, 2:2 + pads] = spec["image_token_id"]
    ids[:, 2 + pads] = spec["vision_end_token_id"]
    labels = ids.clone()
    labels[:, : max(tokens // 2, 3 + pads)] = -100
    patches = 36 * 36 * micro
    return {"input_ids": ids.to(device), "labels": labels.to(device), "attention_mask": torch.ones_like(ids).to(device),
            "mm_token_type_ids": (ids == spec["image_token_id"]).int().to(device),
            "pixel_values": torch.randn(patches, 3 * 2 * 14 * 14, generator=g).to(device), "image_grid_thw": grid.repeat(micro, 1).to(device)}


def train_steps(model, steps: int, b: dict, autocast: bool, lr: float):
    net = CausalLMLoss(model)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.1, fused=b["input_ids"].is_cuda)
    dev = b["input_ids"].device.type
    for _ in range(steps):
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=autocast):
            loss = net(**b)
        (loss / int((b["labels"][:, 1:] != -100).sum())).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)


def changed_fraction(spec, device, master: bool, b) -> float:
    model = build(spec, device, torch.bfloat16)
    prepare(model, TrainConfig(base_model="", train_file="", output_dir="", gradient_checkpointing=False), master_weights=master)
    lm = {n: p.detach().to(torch.bfloat16).clone() for n, p in model.named_parameters() if p.requires_grad}
    train_steps(model, 3, b, autocast=True, lr=1e-5)
    total = changed = 0
    for n, p in model.named_parameters():
        if n in lm:
            # compare what the weights are (fp32 masters as themselves, not rounded for display)
            now = p.detach().float()
            changed += int((now != lm[n].float()).sum())
            total += now.numel()
    del model
    return changed / total


def throughput(spec, device, micro: int, tokens: int, ckpt: bool, steps: int) -> dict:
    model = build(spec, device, torch.bfloat16)
    prepare(model, TrainConfig(base_model="", train_file="", output_dir="", gradient_checkpointing=ckpt))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    b = batch(spec, micro, tokens, device, 1)
    out = {"micro_batch": micro, "tokens": tokens, "gradient_checkpointing": ckpt, "trainable_params": trainable, "frozen_params": frozen}
    try:
        train_steps(model, 1, b, autocast=True, lr=1e-5)  # warm-up: kernels, allocator
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        train_steps(model, steps, b, autocast=True, lr=1e-5)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t
        out["tokens_per_s"] = round(micro * tokens * steps / seconds, 1)
        out["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.type == "cuda" else None
    except torch.OutOfMemoryError:
        out["error"] = "out of memory"
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="reduced model on CPU, same code path (the test suite runs this)")
    ap.add_argument("--steps", type=int, default=3)
    args = ap.parse_args()
    smoke = args.smoke
    device = torch.device("cpu" if smoke or not torch.cuda.is_available() else "cuda")
    if not smoke and device.type != "cuda":
        print("gpu-check: torch sees no GPU (use --smoke for the CPU code-path check)", file=sys.stderr)
        return 2
    spec = SMOKE if smoke else QWEN2VL_2B
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
    emit(check="device", device=name, torch=torch.__version__, peak_bf16_flops=peak, model="smoke" if smoke else "Qwen2-VL-2B-Instruct dims, random weights")

    b = batch(spec, 2, 512 if smoke else 1024, device, 0)
    emit(check="weights changed after 3 steps at lr 1e-5", pure_bf16=round(changed_fraction(spec, device, False, b), 4),
         fp32_master_bf16_autocast=round(changed_fraction(spec, device, True, b), 4))

    shapes = [(2, 512), (2, 1024)] if smoke else [(8, 1024), (8, 4096)]
    for micro, tokens in shapes:
        for ckpt in (False, True):
            r = throughput(spec, device, micro, tokens, ckpt, args.steps)
            if "tokens_per_s" in r:
                # the vision tower runs on 1,296 patches per 1k..4k text tokens: counted per text
                # token as frozen forward FLOPs (2 x params), an upper bound for its share
                flops_per_token = 6 * r["trainable_params"] + 2 * r["frozen_params"]
                r["model_flops_per_token"] = flops_per_token
                r["mfu"] = round(flops_per_token * r["tokens_per_s"] / peak, 4) if peak else None
                r["mfu_formula"] = "(6 x trainable + 2 x frozen params) x tokens/s / peak dense bf16 FLOP/s"
            emit(check="throughput", **r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
