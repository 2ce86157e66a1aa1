"""Tokenization into a sharded, memory-mapped cache, on several processes, resumable.

The cache folder is named by a content key (training-set bytes, every image's size and mtime,
tokenizer and processor files, the settings that change tokens). Rows are cut into shards of
tokenize_shard_size in file order; each shard is written by one worker process into a
temporary folder and renamed into place when complete, so a run killed mid-tokenization keeps
its finished shards and the next one tokenizes only the rest. The main process only streams
rows to the workers, a bounded window of shards at a time: its memory does not grow with the
number of rows.

One shard folder: ids.npy and labels.npy (int32, the examples' tokens end to end), offsets.npy
(int64, n+1) and meta.json (per example: row index, image paths, image grids; per left-out
row: its reason). index.json, lengths.npy and label_counts.npy sum the shards up once all are
there: index.json is written last, so its presence means the cache is complete."""

import hashlib
import json
import multiprocessing as mp
import os
import resource
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np

from .config import TrainConfig
from .data import IGNORE, Encoder, ImageUnreadable, image_path, iter_rows, settings_for_key
from .events import TrainerError, emit

CACHE_FORMAT = "shards-v2"
_encoder = None  # one per worker process


def cache_key(cfg: TrainConfig) -> str:
    h = hashlib.sha256(CACHE_FORMAT.encode())
    with open(cfg.train_file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    for _, row in iter_rows(cfg):
        for p in row.get("images") or []:
            try:
                st = image_path(cfg, p).stat()
                h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
            except OSError:
                h.update(f"{p}\0missing\0".encode())  # its row is left out as unreadable
    for name in ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"):
        f = Path(cfg.base_model, name)
        if f.is_file():
            h.update(f.read_bytes())
    h.update(json.dumps(settings_for_key(cfg), sort_keys=True).encode())
    return h.hexdigest()


def _init_worker(cfg_dict: dict) -> None:
    global _encoder
    from .config import _build

    _encoder = Encoder(_build(TrainConfig, cfg_dict, "config"))


def _write_shard(folder: str, shard: int, rows: list) -> dict:
    """Tokenizes one shard's rows into folder/shard-NNNNN (atomically); returns its summary."""
    ids, labels, offsets, meta = [], [], [0], {"rows": [], "images": [], "grids": [], "left_out": []}
    for i, row in rows:
        try:
            ex, reason = _encoder.encode(row)
        except ImageUnreadable as e:  # unreadable, or refused by the image processor: e.reason says which
            meta["left_out"].append({"row": i, "reason": e.reason, "detail": str(e)[:300]})
            continue
        if ex is None:
            meta["left_out"].append({"row": i, "reason": reason})
            continue
        ids.append(ex["input_ids"])
        labels.append(ex["labels"])
        offsets.append(offsets[-1] + len(ex["input_ids"]))
        meta["rows"].append(i)
        meta["images"].append(ex["images"])
        meta["grids"].append(ex["grids"])
    final = Path(folder, f"shard-{shard:05d}")
    tmp = Path(folder, f".tmp-shard-{shard:05d}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    np.save(tmp / "ids.npy", np.concatenate(ids) if ids else np.zeros(0, np.int32))
    np.save(tmp / "labels.npy", np.concatenate(labels) if labels else np.zeros(0, np.int32))
    np.save(tmp / "offsets.npy", np.asarray(offsets, np.int64))
    (tmp / "meta.json").write_text(json.dumps(meta))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return {"shard": shard, "examples": len(meta["rows"])}


def _shards_of(cfg: TrainConfig):
    batch, shard = [], 0
    for i, row in iter_rows(cfg):
        batch.append((i, row))
        if len(batch) == cfg.tokenize_shard_size:
            yield shard, batch
            batch, shard = [], shard + 1
    if batch:
        yield shard, batch


def _workers(cfg: TrainConfig) -> int:
    return cfg.tokenize_workers or max(1, min(os.cpu_count() or 1, 16))


def _tokenize(cfg: TrainConfig, folder: Path) -> tuple:
    """Writes every missing shard; returns (shard count, shards written now, processes)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = {p.name for p in folder.iterdir() if p.name.startswith("shard-")}
    workers = _workers(cfg)
    written, count = 0, 0
    if workers == 1:
        _init_worker(cfg.to_dict())
        for shard, rows in _shards_of(cfg):
            count = shard + 1
            if f"shard-{shard:05d}" not in done:
                _write_shard(str(folder), shard, rows)
                written += 1
        return count, written, 1
    # fork: the workers inherit the imported libraries (no CUDA has been touched yet); the
    # window bounds the rows held in the main process to 2 shards per worker
    with mp.get_context("fork").Pool(workers, initializer=_init_worker, initargs=(cfg.to_dict(),)) as pool:
        pending = []
        for shard, rows in _shards_of(cfg):
            count = shard + 1
            if f"shard-{shard:05d}" in done:
                continue
            pending.append(pool.apply_async(_write_shard, (str(folder), shard, rows)))
            written += 1
            while len(pending) >= 2 * workers:
                pending.pop(0).get()
        for p in pending:
            p.get()
    return count, written, workers


def _summarise(folder: Path, shards: int) -> dict:
    lengths, label_counts, entries, left_out, samples = [], [], [], Counter(), {}
    for k in range(shards):
        d = folder / f"shard-{k:05d}"
        offsets = np.load(d / "offsets.npy")
        labels = np.load(d / "labels.npy", mmap_mode="r")
        meta = json.loads((d / "meta.json").read_text())
        n = len(offsets) - 1
        lengths.append(np.diff(offsets).astype(np.int32))
        # label targets: positions 1.. whose label is set (the first token is never predicted)
        lab = np.asarray(labels) != IGNORE
        counts = np.add.reduceat(lab, offsets[:-1]) if n else np.zeros(0, np.int64)
        first = lab[offsets[:-1]] if n else np.zeros(0, bool)
        label_counts.append((counts - first).astype(np.int32))
        entries.append({"name": d.name, "examples": n})
        for x in meta["left_out"]:
            left_out[x["reason"]] += 1
            samples.setdefault(x["reason"], [])
            if len(samples[x["reason"]]) < 5:
                samples[x["reason"]].append({k2: v for k2, v in x.items() if k2 != "reason"})
    np.save(folder / "lengths.npy", np.concatenate(lengths) if lengths else np.zeros(0, np.int32))
    np.save(folder / "label_counts.npy", np.concatenate(label_counts) if label_counts else np.zeros(0, np.int32))
    index = {"format": CACHE_FORMAT, "shards": entries, "examples": sum(e["examples"] for e in entries),
             "filtered": [{"reason": r, "n": n, "samples": samples[r]} for r, n in sorted(left_out.items())]}
    tmp = folder / f".index.json.tmp{os.getpid()}"
    tmp.write_text(json.dumps(index))
    os.replace(tmp, folder / "index.json")
    return index


def tokenized_folder(cfg: TrainConfig, rank: int = 0) -> tuple:
    """The complete cache folder for this config and its index; tokenizes what is missing.
    Rank 0 tokenizes; the other ranks of a multi-process run wait for index.json."""
    key = cache_key(cfg)
    folder = Path(cfg.cache_dir or Path(cfg.output_dir) / "tokenized") / key
    index_file = folder / "index.json"
    if rank != 0:
        while not index_file.is_file():
            time.sleep(0.5)
        return folder, json.loads(index_file.read_text())
    if index_file.is_file():
        index = json.loads(index_file.read_text())
        cache, rate, workers = "hit", None, 0
    else:
        started = time.perf_counter()
        existing = sum(1 for p in folder.glob("shard-*")) if folder.is_dir() else 0
        shards, written, workers = _tokenize(cfg, folder)
        index = _summarise(folder, shards)
        rate = round((index["examples"] + sum(f["n"] for f in index["filtered"])) / max(time.perf_counter() - started, 1e-9), 2)
        cache = "partial" if existing else "miss"
    dropped = sum(f["n"] for f in index["filtered"])
    emit("data", examples=index["examples"], dropped=dropped, filtered=[{"reason": f["reason"], "n": f["n"]} for f in index["filtered"]],
         samples={f["reason"]: f["samples"] for f in index["filtered"]}, cache=cache, key=key, shards=len(index["shards"]),
         tokenize_workers=workers, examples_per_s=rate,
         # peak RSS so far of this process and of the largest tokenizer process: flat in the row count
         rss_peak_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
         workers_rss_peak_bytes=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    if index["examples"] == 0:
        reasons = "; ".join(f"{f['n']} {f['reason']}" for f in index["filtered"])
        raise TrainerError("config", f"no example left to train on ({reasons}; max_length {cfg.max_length})")
    return folder, index
