"""The model under training: precision, frozen parts, LoRA, gradient checkpointing, the loss,
and the DDP / FSDP wrapping.

Precision. Trainable tensors and their AdamW state are fp32 (master weights); in bf16 mode the
forward and backward run under bf16 autocast. Frozen parts (the vision tower and its merger)
keep the base checkpoint's dtype (bf16 for Qwen2-VL), so they stay bit-identical to the base.
Why: at lr 1e-5 an Adam update is ~1e-5, below half a bf16 step (2^-8 relative) of any weight
above ~5e-3 in magnitude: pure-bf16 weights round most updates away.

Memory for Qwen2-VL-2B (1.5B LM trainable, 0.67B vision frozen) under DDP: fp32 weights 6 GB +
fp32 grads 6 GB + AdamW moments 12 GB + bf16 vision 1.3 GB = ~25 GB per GPU before activations.
Activations of 8 x 6,144 tokens with gradient checkpointing: the layer inputs, 28 layers x 49k
tokens x 1,536 x 2 bytes = 4.2 GB, plus one layer's recompute; without it ~20x that. The loss
never materialises logits for every position: a 151,936-word vocabulary over 49k positions is
15 GB in bf16 and 30 GB as an fp32 copy. It takes the labelled positions only, in chunks of
CE_CHUNK whose logits are recomputed in backward (~2048 x 151,936 x 6 bytes = 1.9 GB at a time).

FSDP (strategy fsdp): every parameter fp32 and sharded per decoder layer (full shard), compute
in bf16 through FSDP's mixed-precision policy; for models whose weights + AdamW state do not fit
one GPU (8B: 8 x 16 bytes = 128 GB)."""

import json
from pathlib import Path

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint
from transformers import Qwen2VLForConditionalGeneration

from .config import TrainConfig
from .data import IGNORE

CE_CHUNK = 2048
# below this many bytes of fp32 logits for the labelled positions, one plain cross-entropy (no
# recompute); above it, chunks recomputed in backward. A tiny model never pays the recompute, a
# 2B one on 8 x 6k tokens (~15 GB of such logits) always does.
LOGITS_BUDGET = 1 << 30


def base_dtype(base_model: str) -> torch.dtype:
    cfg = json.loads(Path(base_model, "config.json").read_text())
    name = cfg.get("dtype") or cfg.get("torch_dtype") or (cfg.get("text_config") or {}).get("dtype") or "float32"
    return getattr(torch, name) if isinstance(name, str) and hasattr(torch, name) else torch.float32


def load_model(cfg: TrainConfig, bf16: bool):
    # fp32 mode loads everything in fp32; bf16 mode keeps the base's dtype for what stays frozen
    dtype = base_dtype(cfg.base_model) if bf16 and cfg.strategy != "fsdp" else torch.float32
    model = Qwen2VLForConditionalGeneration.from_pretrained(cfg.base_model, dtype=dtype, attn_implementation=cfg.attn_implementation)
    return prepare(model, cfg)


def prepare(model, cfg: TrainConfig, master_weights: bool = True):
    """Freezing, checkpointing, LoRA and fp32 master copies of the trainable weights.
    master_weights=False is the pure-bf16 mistake, kept for bench/gpu_check.py to measure."""
    model.config.use_cache = False
    if cfg.freeze_vision_tower:
        for p in model.model.visual.parameters():  # the merger is part of `visual`
            p.requires_grad_(False)
    if cfg.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if cfg.finetuning == "lora":
        from peft import LoraConfig, get_peft_model

        lc = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                        target_modules=cfg.lora.target_modules, bias="none")
        model = get_peft_model(model, lc)
    if master_weights:
        for p in model.parameters():
            if p.requires_grad and p.dtype != torch.float32:
                p.data = p.data.float()
    return model


def is_fsdp(net) -> bool:
    """Whether `wrap` sharded the module with FSDP2 (fully_shard adds these methods)."""
    return hasattr(net, "set_requires_gradient_sync")


def hf_model(model):
    """The Qwen2VLForConditionalGeneration inside DDP, FSDP, the loss wrapper and peft."""
    m = model
    while True:
        if isinstance(m, (torch.nn.parallel.DistributedDataParallel,)):
            m = m.module
        elif isinstance(m, CausalLMLoss):
            m = m.hf
        else:
            break
    return m


def _ce_sum(lm_head: nn.Module, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(lm_head(hidden).float(), targets, reduction="sum")


class CausalLMLoss(nn.Module):
    """forward(batch) = the summed cross-entropy over the batch's labelled positions."""

    def __init__(self, hf):
        super().__init__()
        self.hf = hf

    def forward(self, input_ids, labels, **batch) -> torch.Tensor:
        inner = self.hf.get_base_model() if hasattr(self.hf, "get_base_model") else self.hf
        hidden = inner.model(input_ids=input_ids, use_cache=False, **batch).last_hidden_state
        mask = labels[:, 1:] != IGNORE
        if not bool(mask.any()):
            # a filler micro-batch: a zero loss that still touches every trainable weight, so
            # DDP's gradient all-reduce sees the same parameters on every rank
            return _ce_sum(inner.lm_head, hidden[:, :1].reshape(-1, hidden.shape[-1]), input_ids[:, 1:2].reshape(-1)) * 0.0
        h = hidden[:, :-1][mask]
        y = labels[:, 1:][mask]
        if len(y) * inner.lm_head.out_features * 4 <= LOGITS_BUDGET:
            return _ce_sum(inner.lm_head, h, y)
        total = None
        for s in range(0, len(y), CE_CHUNK):
            part = checkpoint(_ce_sum, inner.lm_head, h[s:s + CE_CHUNK], y[s:s + CE_CHUNK], use_reentrant=False)
            total = part if total is None else total + part
        return total


def wrap(cfg: TrainConfig, model, device: torch.device, world: int, bf16: bool):
    """The module the loop calls: the loss wrapper, under DDP or FSDP when world > 1."""
    net = CausalLMLoss(model)
    if cfg.strategy == "fsdp" and world > 1:
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16 if bf16 else torch.float32, reduce_dtype=torch.float32)
        net.to(device)
        for layer in [m for m in net.modules() if type(m).__name__ == "Qwen2VLDecoderLayer"]:
            fully_shard(layer, mp_policy=mp)
        fully_shard(net, mp_policy=mp)
        return net
    net.to(device)
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        # with the vision tower trainable, a micro-batch without images leaves it unused
        return torch.nn.parallel.DistributedDataParallel(net, device_ids=ids, find_unused_parameters=not cfg.freeze_vision_tower)
    return net
