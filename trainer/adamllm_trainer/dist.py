"""One or several trainer processes. torchrun starts several and sets WORLD_SIZE, RANK and
LOCAL_RANK; one process runs without any of it. Rank 0 alone writes events, checkpoints and
exports; every rank trains on its own micro-batches (loader.Plan)."""

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as td

from .events import TrainerError


@dataclass
class Dist:
    world: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def on(self) -> bool:
        return self.world > 1


def from_env() -> Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return Dist(world=world, rank=int(os.environ.get("RANK", "0")), local_rank=int(os.environ.get("LOCAL_RANK", "0")))


def init(d: Dist, device: torch.device) -> None:
    if not d.on:
        return
    if device.type == "cuda":
        if d.local_rank >= torch.cuda.device_count():
            raise TrainerError("config", f"{d.world} processes on this node but torch sees {torch.cuda.device_count()} GPU(s)")
        torch.cuda.set_device(d.local_rank)
    # the others wait for rank 0's tokenization before this call (tokenized.py), so the
    # timeout only has to cover checkpoint saves and exports that rank 0 does alone
    td.init_process_group("nccl" if device.type == "cuda" else "gloo", timeout=timedelta(hours=2))


def barrier(d: Dist) -> None:
    if d.on:
        td.barrier()


def any_true(d: Dist, flag: bool, device: torch.device) -> bool:
    """True on every rank when it is true on any: all ranks stop at the same step."""
    if not d.on:
        return flag
    t = torch.tensor([1 if flag else 0], device=device)
    td.all_reduce(t, op=td.ReduceOp.MAX)
    return bool(t.item())


def total(d: Dist, value: float, device: torch.device) -> float:
    if not d.on:
        return value
    t = torch.tensor([value], dtype=torch.float64 if device.type == "cpu" else torch.float32, device=device)
    td.all_reduce(t)
    return float(t.item())


def close(d: Dist) -> None:
    if d.on and td.is_initialized():
        td.destroy_process_group()
