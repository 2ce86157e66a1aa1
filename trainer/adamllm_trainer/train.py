"""The training loop: batches from loader.Plan (a function of seed and epoch), gradient
accumulation with the loss token-averaged over the whole global batch (every rank), AdamW on
fp32 master weights with cosine schedule and warmup, checkpoints every save_steps and on
SIGTERM, resume from the newest complete checkpoint made with the same settings and world size."""

import contextlib
import hashlib
import json
import math
import os
import random
import resource
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer, get_cosine_schedule_with_warmup

from . import dist
from .config import TrainConfig, save_resolved
from .events import TrainerError, emit, set_rank
from .loader import Collator, Plan, StepSampler, TokenizedSet, make_loader
from .model import hf_model, is_fsdp, load_model, wrap
from .tokenized import tokenized_folder

CKPT_PREFIX = "step-"
RESUME_IGNORED = json.loads((Path(__file__).parent / "resume_ignored.json").read_text())["keys"]


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device_and_precision(cfg: TrainConfig, d: dist.Dist):
    """The device and whether to train in bf16 autocast."""
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise TrainerError("config", "device: cuda requested but torch sees no GPU")
    cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda", d.local_rank) if cuda else torch.device("cpu")
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and cuda)
    return device, bf16


def fingerprint(cfg: TrainConfig, n_examples: int) -> str:
    """What a checkpoint must agree with to be resumed: every setting that shapes the steps
    (resume_ignored.json lists the others; the train stage keys its folder on the same list)."""
    d = cfg.to_dict()
    for k in RESUME_IGNORED:
        d.pop(k, None)
    d["examples"] = n_examples
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def checkpoints(out: Path) -> list:
    d = out / "checkpoints"
    if not d.is_dir():
        return []
    found = [p for p in d.iterdir() if p.name.startswith(CKPT_PREFIX) and (p / "meta.json").is_file()]
    return sorted(found, key=lambda p: int(p.name[len(CKPT_PREFIX):]))


def _training_state(cfg: TrainConfig, net, opt):
    """(trainable weights by name, optimizer state), complete on rank 0 (None elsewhere)."""
    if is_fsdp(net):
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

        msd, osd = get_state_dict(net, opt, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        names = {n for n, p in net.named_parameters() if p.requires_grad}
        return {n: t for n, t in msd.items() if n in names}, osd
    return {n: p.detach().cpu() for n, p in hf_model(net).named_parameters() if p.requires_grad}, opt.state_dict()


def save_checkpoint(cfg: TrainConfig, d: dist.Dist, net, opt, sched, step: int, fp: str, losses: list, plan: Plan,
                    prune: bool = True, orphan_steps: list | None = None) -> Path:
    """Writes checkpoints/step-N (rank 0; every rank takes part in gathering FSDP state); with
    `prune`, deletes all but the newest save_total_limit checkpoints. `orphan_steps`: the step
    events since the last checkpoint of a trainer whose worker died, replayed on resume."""
    out = Path(cfg.output_dir)
    trainable, optimizer = _training_state(cfg, net, opt)
    final = out / "checkpoints" / f"{CKPT_PREFIX}{step:07d}"
    if d.main:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{CKPT_PREFIX}{step:07d}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        rng = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        torch.save({"trainable": trainable, "optimizer": optimizer, "scheduler": sched.state_dict(), "rng": rng}, tmp / "state.pt")
        save_resolved(cfg, tmp)
        # meta.json last: a folder with it is complete; the rename makes it visible at once.
        # The data position: the next step's (epoch, batch) follows from the step and the seed.
        epoch, batch = divmod(step, plan.steps_per_epoch)
        meta = {"step": step, "epoch": epoch, "next_batch": batch, "fingerprint": fp, "world_size": d.world, "strategy": cfg.strategy, "losses": losses}
        if orphan_steps is not None:
            meta["orphan_steps"] = orphan_steps
        (tmp / "meta.json").write_text(json.dumps(meta))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
        for old in (checkpoints(out)[:-cfg.save_total_limit] if prune else []):
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier(d)
    return final


def load_checkpoint(cfg: TrainConfig, d: dist.Dist, path: Path, net, opt, sched, fp: str) -> tuple:
    meta = json.loads((path / "meta.json").read_text())
    if meta["fingerprint"] != fp:
        raise TrainerError("config", f"checkpoint {path} was made with other training settings; use another output_dir or delete it")
    made = int(meta.get("world_size", 1))
    if made != d.world:
        raise TrainerError("config", f"checkpoint {path} was made by {made} process(es) and this run has {d.world}: the global batch "
                                     f"(per-device x accumulation x processes) would change; resume with {made} or start in another output_dir")
    state = torch.load(path / "state.pt", weights_only=False, map_location="cpu")
    if is_fsdp(net):
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

        set_state_dict(net, opt, model_state_dict=state["trainable"], optim_state_dict=state["optimizer"],
                       options=StateDictOptions(full_state_dict=True, strict=False))
    else:
        params = dict(hf_model(net).named_parameters())
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
    return meta["step"], meta["losses"], meta.get("orphan_steps", [])


class StopFlag:
    """SIGTERM (the activity's cancel) asks for a checkpoint at the end of the current step. So
    does the death of the worker that started us (ADAMLLM_PARENT_PID, else our parent): a retry
    on another worker then resumes from that checkpoint instead of racing an orphan."""

    def __init__(self):
        self._stop = False
        self._watch = int(os.environ.get("ADAMLLM_PARENT_PID") or 0)
        self._parent = os.getppid()
        signal.signal(signal.SIGTERM, self._set)

    def _set(self, *_):
        self._stop = True

    def _watched_gone(self) -> bool:
        if not self._watch:
            return os.getppid() != self._parent
        try:
            os.kill(self._watch, 0)
            return False
        except ProcessLookupError:
            return True
        except PermissionError:
            return False

    @property
    def stop(self) -> bool:
        return self._stop or self._watched_gone()

    @property
    def orphaned(self) -> bool:
        """The worker that started us is gone: nobody records our steps any more."""
        return self._watched_gone()


def peak_memory(device: torch.device) -> int:
    """Bytes: the step's CUDA peak allocation, or this process's peak RSS on CPU (whole run)."""
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        return int(peak)
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _no_sync(net, last: bool):
    """Gradients are all-reduced once per step, on the last micro-batch."""
    if is_fsdp(net):
        net.set_requires_gradient_sync(last)
        return contextlib.nullcontext()
    if isinstance(net, torch.nn.parallel.DistributedDataParallel) and not last:
        return net.no_sync()
    return contextlib.nullcontext()


def train(cfg: TrainConfig, resume_from: str | None = None):
    """Runs (or resumes) training; returns (net, final step, total steps, stopped early, losses, dist)."""
    d = dist.from_env()
    set_rank(d.rank)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed_all(cfg.seed)
    device, bf16 = device_and_precision(cfg, d)
    folder, index = tokenized_folder(cfg, d.rank)  # before any CUDA or process group: it forks
    dist.init(d, device)
    dataset = TokenizedSet(cfg, folder, index)
    plan = Plan(cfg, dataset.lengths, d.world)
    n = len(dataset)
    total = math.ceil(plan.steps_per_epoch * cfg.epochs)
    if cfg.max_steps > 0:
        total = min(total, cfg.max_steps)
    fp = fingerprint(cfg, n)

    model = load_model(cfg, bf16)
    net = wrap(cfg, model, device, d.world, bf16)
    tok = AutoTokenizer.from_pretrained(cfg.base_model)
    trainable = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=cfg.learning_rate, weight_decay=cfg.weight_decay, fused=device.type == "cuda")
    sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=math.ceil(cfg.warmup_ratio * total), num_training_steps=total)

    step, losses, replay = 0, [], []
    found = [Path(resume_from)] if resume_from else checkpoints(out)
    if found:
        step, losses, replay = load_checkpoint(cfg, d, found[-1], net, opt, sched, fp)
    emit("start", examples=n, total_steps=total, step=step, resumed_from=str(found[-1]) if found else None,
         trainable_params=sum(p.numel() for p in hf_model(net).parameters() if p.requires_grad), device=device.type,
         dtype="bfloat16" if bf16 else "float32", master_weights="float32", finetuning=cfg.finetuning,
         global_batch=plan.G, world_size=d.world, strategy=cfg.strategy if d.on else "single",
         gradient_checkpointing=cfg.gradient_checkpointing, attn_implementation=cfg.attn_implementation, fingerprint=fp)
    for e in replay:  # an orphan's steps, which its dead worker may never have recorded
        emit("step", **e)
    since_checkpoint = list(replay)  # this trainer's step events since its last checkpoint

    flag = StopFlag()
    net.train()
    batches = iter(make_loader(cfg, dataset, StepSampler(plan, d.rank, step, total), Collator(tok.pad_token_id, hf_model(net).config.image_token_id), device.type == "cuda"))
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and not is_fsdp(net))  # FSDP casts itself
    stop = False
    while step < total and not stop:
        started = time.perf_counter()
        stats = plan.stats(step)
        label_tokens = int(sum(int(dataset.label_counts[i]) for i in plan.batch(step)))
        local_loss = 0.0
        accum = cfg.gradient_accumulation_steps
        for m in range(accum):
            b = {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}
            with _no_sync(net, m == accum - 1), autocast:
                loss_sum = net(**b)
            # token-averaged over the global batch; DDP averages gradients over ranks, hence x world
            (loss_sum * (d.world / label_tokens)).backward()
            local_loss += float(loss_sum.detach())
        step_loss = dist.total(d, local_loss, device) / label_tokens
        grad_norm = float(torch.nn.utils.clip_grad_norm_(trainable, cfg.max_grad_norm))
        lr = sched.get_last_lr()[0]
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        losses.append(round(step_loss, 6))
        elapsed = time.perf_counter() - started
        stop = dist.any_true(d, flag.stop, device)
        if step % cfg.log_every == 0 or step == total:
            event = dict(step=step, total_steps=total, epoch=round(step / plan.steps_per_epoch, 4), loss=step_loss, lr=lr,
                         grad_norm=grad_norm, tokens=stats["tokens"], label_tokens=label_tokens, tokens_per_s=round(stats["tokens"] / elapsed, 2),
                         padding_waste=round(1 - stats["tokens"] / stats["padded"], 4) if stats["padded"] else 0.0,
                         peak_memory_bytes=peak_memory(device), world_size=d.world)
            emit("step", **event)
            since_checkpoint.append(event)
        if step % cfg.save_steps == 0 or stop or step == total:
            # An orphan (its worker died) still saves its work, but its last steps' events went
            # nowhere (or were not yet written as TrainStep rows): they go into the checkpoint, and
            # a retry that resumes from it replays them, so the loss curve has no hole. Nor does
            # it delete older checkpoints: the retry resumes from the one its last heartbeat
            # named, which must not vanish between its check and its load.
            orphaned = flag.orphaned
            path = save_checkpoint(cfg, d, net, opt, sched, step, fp, losses, plan, prune=not orphaned,
                                   orphan_steps=since_checkpoint if orphaned else None)
            since_checkpoint = []
            emit("checkpoint", step=step, path=str(path))
    return net, step, total, stop, losses, d
