"""Batches: which examples each optimizer step trains on, and the DataLoader that builds them.

The data order is a function of (seed, epoch) only, so the step number is the data position:
a resumed run (any number of times) sees exactly the batches an uninterrupted run would.

A global batch of G = per_device x accumulation x world examples is cut into world x
accumulation micro-batches ("slots"); slot s goes to rank s % world as its (s // world)-th
micro-batch. With group_by_length the epoch's permutation is cut into mega-batches of 50
global batches, each sorted by length, so a micro-batch holds examples of similar length and
pads little; the order of the global batches is then shuffled again (same seed), with the
longest one first so a batch that does not fit in memory fails at step 1, not hours in.

Images are decoded and preprocessed in the DataLoader's worker processes (pinned memory and
prefetch on GPU), so pixel values exist only for the batches in flight."""

import bisect
import json
import math
import signal
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .config import TrainConfig
from .data import IGNORE, Encoder, ImageUnreadable
from .events import TrainerError

MEGA_BATCHES = 50


class TokenizedSet(Dataset):
    """Examples of a tokenized cache folder, memory-mapped; images loaded per item. A negative
    index -(i + 1) is example i with no label: a filler micro-batch (see plan_slots)."""

    def __init__(self, cfg: TrainConfig, folder: Path, index: dict):
        self.cfg = cfg
        self.folder = folder
        self.names = [s["name"] for s in index["shards"]]
        self.starts = np.cumsum([0] + [s["examples"] for s in index["shards"]]).tolist()
        self.lengths = np.load(folder / "lengths.npy")
        self.label_counts = np.load(folder / "label_counts.npy")
        self._shards = {}
        self._encoder = None

    def __len__(self) -> int:
        return len(self.lengths)

    def _shard(self, k: int):
        if k not in self._shards:
            if len(self._shards) >= 8:  # a few shards open at once per process
                self._shards.pop(next(iter(self._shards)))
            d = self.folder / self.names[k]
            self._shards[k] = (np.load(d / "ids.npy", mmap_mode="r"), np.load(d / "labels.npy", mmap_mode="r"),
                               np.load(d / "offsets.npy"), json.loads((d / "meta.json").read_text()))
        return self._shards[k]

    def __getitem__(self, i: int) -> dict:
        filler = i < 0
        if filler:
            i = -i - 1
        k = bisect.bisect_right(self.starts, i) - 1
        j = i - self.starts[k]
        ids, labels, offsets, meta = self._shard(k)
        a, b = int(offsets[j]), int(offsets[j + 1])
        ex = {"input_ids": torch.from_numpy(np.array(ids[a:b], np.int64)), "labels": torch.from_numpy(np.array(labels[a:b], np.int64))}
        if filler:
            ex["labels"].fill_(IGNORE)
        paths = meta["images"][j]
        if paths:
            if self._encoder is None:
                self._encoder = Encoder(self.cfg)
            try:
                vision = self._encoder.pixels(paths)
            except ImageUnreadable as e:
                raise TrainerError("runtime", f"training image of row {meta['rows'][j]} became unusable after tokenization ({e.reason}): {e}") from e
            if vision["image_grid_thw"].tolist() != meta["grids"][j]:
                raise TrainerError("runtime", f"training image of row {meta['rows'][j]} ({paths}) changed since tokenization; delete the cache folder {self.folder}")
            ex["pixel_values"] = vision["pixel_values"].float()
            ex["image_grid_thw"] = vision["image_grid_thw"].long()
        return ex


class Plan:
    """The slots of every optimizer step, computed from the example lengths, seed and epoch."""

    def __init__(self, cfg: TrainConfig, lengths: np.ndarray, world: int):
        self.cfg, self.lengths, self.world = cfg, lengths, world
        self.n = len(lengths)
        self.G = cfg.global_batch(world)
        self.slots_per_step = cfg.gradient_accumulation_steps * world
        self.steps_per_epoch = math.ceil(self.n / self.G)
        self._epoch, self._order = None, None

    def _epoch_batches(self, epoch: int) -> list:
        if self._epoch != epoch:
            g = torch.Generator().manual_seed(self.cfg.seed + epoch)
            perm = torch.randperm(self.n, generator=g).tolist()
            if self.cfg.group_by_length:
                mega = self.G * MEGA_BATCHES
                perm = [i for s in range(0, self.n, mega) for i in sorted(perm[s:s + mega], key=lambda i: -int(self.lengths[i]))]
            batches = [perm[s:s + self.G] for s in range(0, self.n, self.G)]
            if self.cfg.group_by_length and len(batches) > 1:
                order = torch.randperm(len(batches), generator=g).tolist()
                longest = max(range(len(batches)), key=lambda b: int(self.lengths[batches[b][0]]))
                order.remove(longest)
                batches = [batches[longest]] + [batches[b] for b in order]
            self._epoch, self._order = epoch, batches
        return self._order

    def batch(self, step: int) -> list:
        epoch, k = divmod(step, self.steps_per_epoch)
        return self._epoch_batches(epoch)[k]

    def slots(self, step: int) -> list:
        """The step's micro-batches, slot by slot. Examples sorted by length are cut into
        slots_per_step nearly equal runs; a slot left empty (a short last batch) gets one
        filler example (no label) so every rank runs the same number of forward passes."""
        ids = sorted(self.batch(step), key=lambda i: -int(self.lengths[i]))
        runs = [list(map(int, r)) for r in np.array_split(np.asarray(ids, np.int64), self.slots_per_step)]
        return [r if r else [-(ids[-1] + 1)] for r in runs]

    def rank_micro_batches(self, step: int, rank: int) -> list:
        return self.slots(step)[rank::self.world]

    def stats(self, step: int) -> dict:
        """Tokens, padded positions and label tokens of a whole global batch (every rank)."""
        tokens = padded = 0
        for slot in self.slots(step):
            lens = [int(self.lengths[i]) for i in slot if i >= 0]
            if lens:
                tokens += sum(lens)
                padded += len(lens) * max(lens)
        return {"tokens": tokens, "padded": padded}


class StepSampler:
    """This rank's micro-batches for steps [start, total), accumulation many per step."""

    def __init__(self, plan: Plan, rank: int, start: int, total: int):
        self.plan, self.rank, self.start, self.total = plan, rank, start, total

    def __iter__(self):
        for step in range(self.start, self.total):
            yield from self.plan.rank_micro_batches(step, self.rank)

    def __len__(self) -> int:
        return (self.total - self.start) * self.plan.cfg.gradient_accumulation_steps


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
        batch["image_grid_thw"] = torch.cat([e["image_grid_thw"] for e in with_images])
    return batch


class Collator:
    """A picklable collate_fn (DataLoader workers may be spawned)."""

    def __init__(self, pad_id: int, image_token_id: int):
        self.pad_id, self.image_token_id = pad_id, image_token_id

    def __call__(self, examples: list) -> dict:
        return collate(examples, self.pad_id, self.image_token_id)


def _ignore_sigterm(_worker_id: int) -> None:
    """A cancel's SIGTERM reaches a rank's whole process group (torchrun signals it), loader
    workers included. They must outlive it: the rank finishes its step and checkpoints, then
    shuts them down; a worker dying first would crash the rank before the checkpoint."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def make_loader(cfg: TrainConfig, dataset: TokenizedSet, sampler: StepSampler, collator: Collator, on_gpu: bool) -> DataLoader:
    workers = cfg.dataloader_workers
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=collator, num_workers=workers,
                      pin_memory=cfg.pin_memory and on_gpu, prefetch_factor=cfg.prefetch_factor if workers else None,
                      persistent_workers=False, worker_init_fn=_ignore_sigterm)
