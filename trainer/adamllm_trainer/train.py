"""The training loop: deterministic data order from (seed, epoch), gradient accumulation with
token-averaged loss over the global batch, AdamW with cosine schedule and warmup, checkpoints
every save_steps and on SIGTERM, resume from the newest complete checkpoint."""

import hashlib
import json
import math
import os
import random
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration, get_cosine_schedule_with_warmup

from .config import TrainConfig
from .data import IGNORE, tokenized_dataset
from .events import TrainerError, emit

CKPT_PREFIX = "step-"


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device_and_dtype(cfg: TrainConfig):
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise TrainerError("config", "device: cuda requested but torch sees no GPU")
    device = torch.device("cuda" if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()) else "cpu")
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")
    return device, (torch.bfloat16 if bf16 else torch.float32)


def fingerprint(cfg: TrainConfig, n_examples: int) -> str:
    """What a checkpoint must agree with to be resumed: everything that shapes the run's steps."""
    d = cfg.to_dict()
    for k in ("output_dir", "cache_dir", "save_steps", "save_total_limit", "log_every", "export", "device"):
        d.pop(k, None)
    d["examples"] = n_examples
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def load_model(cfg: TrainConfig, device, dtype):
    model = Qwen2VLForConditionalGeneration.from_pretrained(cfg.base_model, dtype=dtype)
    if cfg.freeze_vision_tower:
        for p in model.model.visual.parameters():  # the merger is part of `visual`
            p.requires_grad_(False)
    if cfg.finetuning == "lora":
        from peft import LoraConfig, get_peft_model

        lc = LoraConfig(r=cfg.lora.r, lora_alpha=cfg.lora.alpha, lora_dropout=cfg.lora.dropout,
                        target_modules=cfg.lora.target_modules, bias="none")
        model = get_peft_model(model, lc)
    return model.to(device)


def collate(examples: list, pad_id: int, image_token_id: int) -> dict:
    width = max(len(e["input_ids"]) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for i, e in enumerate(examples):
        n = len(e["input_ids"])
        ids[i, :n], labels[i, :n], mask[i, :n] = e["input_ids"], e["labels"], 1
    batch = {"input_ids": ids, "labels": labels, "attention_mask": mask, "mm_token_type_ids": (ids == image_token_id).int()}
    with_images = [e for e in examples if "pixel_values" in e]
    if with_images:
        batch["pixel_values"] = torch.cat([e["pixel_values"] for e in with_images])
        batch["image_grid_thw"] = torch.cat([e["image_grid_thw"] for e in with_images]).long()
    return batch


def step_indices(n: int, cfg: TrainConfig, step: int, steps_per_epoch: int) -> list:
    """The examples of optimizer step `step`: a permutation per epoch, seeded by (seed, epoch)."""
    epoch, k = divmod(step, steps_per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed + epoch)).tolist()
    return perm[k * cfg.global_batch:(k + 1) * cfg.global_batch]


def checkpoints(out: Path) -> list:
    d = out / "checkpoints"
    if not d.is_dir():
        return []
    found = [p for p in d.iterdir() if p.name.startswith(CKPT_PREFIX) and (p / "meta.json").is_file()]
    return sorted(found, key=lambda p: int(p.name[len(CKPT_PREFIX):]))


def save_checkpoint(out: Path, model, opt, sched, step: int, fp: str, losses: list, keep: int, steps_per_epoch: int) -> Path:
    d = out / "checkpoints"
    d.mkdir(parents=True, exist_ok=True)
    final = d / f"{CKPT_PREFIX}{step:07d}"
    tmp = d / f".tmp-{CKPT_PREFIX}{step:07d}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    trainable = {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}
    rng = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save({"trainable": trainable, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "rng": rng}, tmp / "state.pt")
    # meta.json last: a folder with it is complete; the rename makes it visible at once
    # the data position: the next step's (epoch, batch) follows from the step count and the seed
    epoch, batch = divmod(step, steps_per_epoch)
    (tmp / "meta.json").write_text(json.dumps({"step": step, "epoch": epoch, "next_batch": batch, "fingerprint": fp, "losses": losses}))
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in checkpoints(out)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path, model, opt, sched, fp: str) -> tuple:
    meta = json.loads((path / "meta.json").read_text())
    if meta["fingerprint"] != fp:
        raise TrainerError("config", f"checkpoint {path} was made with other training settings; use another output_dir or delete it")
    state = torch.load(path / "state.pt", weights_only=False)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for n, t in state["trainable"].items():
            params[n].copy_(t)
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    random.setstate(state["rng"]["python"])
    np.random.set_state(state["rng"]["numpy"])
    if "cuda" in state["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return meta["step"], meta["losses"]


class StopFlag:
    """SIGTERM (the activity's cancel) asks for a checkpoint at the end of the current step. So
    does the death of the worker that started us (we are re-parented): a retry on another
    worker then resumes from that checkpoint instead of racing an orphan."""

    def __init__(self):
        self._stop = False
        self._parent = os.getppid()
        signal.signal(signal.SIGTERM, self._set)

    def _set(self, *_):
        self._stop = True

    @property
    def stop(self) -> bool:
        return self._stop or os.getppid() != self._parent


def train(cfg: TrainConfig, resume_from: str | None = None):
    """Runs (or resumes) training; returns (model, final step, total steps, stopped early, losses)."""
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed_all(cfg.seed)
    device, dtype = device_and_dtype(cfg)
    examples = tokenized_dataset(cfg)
    n = len(examples)
    steps_per_epoch = math.ceil(n / cfg.global_batch)
    total = math.ceil(steps_per_epoch * cfg.epochs)
    if cfg.max_steps > 0:
        total = min(total, cfg.max_steps)
    fp = fingerprint(cfg, n)

    model = load_model(cfg, device, dtype)
    tok = AutoTokenizer.from_pretrained(cfg.base_model)
    image_token_id = model.config.image_token_id
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=math.ceil(cfg.warmup_ratio * total), num_training_steps=total)

    step, losses = 0, []
    found = [Path(resume_from)] if resume_from else checkpoints(out)
    if found:
        step, losses = load_checkpoint(found[-1], model, opt, sched, fp)
    emit("start", examples=n, total_steps=total, step=step, resumed_from=str(found[-1]) if found else None,
         trainable_params=sum(p.numel() for p in trainable), device=device.type, dtype=str(dtype).replace("torch.", ""),
         finetuning=cfg.finetuning, global_batch=cfg.global_batch, fingerprint=fp)

    flag = StopFlag()
    model.train()
    last_saved = step
    while step < total and not flag.stop:
        started = time.perf_counter()
        batch_ids = step_indices(n, cfg, step, steps_per_epoch)
        micro = [batch_ids[i:i + cfg.per_device_batch_size] for i in range(0, len(batch_ids), cfg.per_device_batch_size)]
        label_tokens = sum(int((examples[i]["labels"][1:] != IGNORE).sum()) for i in batch_ids)
        seen_tokens = sum(len(examples[i]["input_ids"]) for i in batch_ids)
        step_loss = 0.0
        for mb in micro:
            b = {k: v.to(device) for k, v in collate([examples[i] for i in mb], tok.pad_token_id, image_token_id).items()}
            labels = b.pop("labels")
            logits = model(**b).logits.float()
            # token-averaged over the whole global batch, so accumulation equals one big batch
            loss_sum = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=IGNORE, reduction="sum")
            (loss_sum / label_tokens).backward()
            step_loss += loss_sum.item() / label_tokens
        grad_norm = torch.nn.utils.clip_grad_norm_(trainable, cfg.max_grad_norm).item()
        lr = sched.get_last_lr()[0]
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        losses.append(round(step_loss, 6))
        elapsed = time.perf_counter() - started
        if step % cfg.log_every == 0 or step == total:
            emit("step", step=step, total_steps=total, epoch=round(step / steps_per_epoch, 4), loss=step_loss, lr=lr,
                 grad_norm=grad_norm, tokens=seen_tokens, label_tokens=label_tokens, tokens_per_s=round(seen_tokens / elapsed, 2))
        if step % cfg.save_steps == 0 or flag.stop or step == total:
            path = save_checkpoint(out, model, opt, sched, step, fp, losses, cfg.save_total_limit, steps_per_epoch)
            last_saved = step
            emit("checkpoint", step=step, path=str(path))
    if flag.stop and last_saved != step:
        path = save_checkpoint(out, model, opt, sched, step, fp, losses, cfg.save_total_limit, steps_per_epoch)
        emit("checkpoint", step=step, path=str(path))
    return model, step, total, flag.stop, losses
