"""The training set as token ids, labels and pixels.

Rows are the export's ShareGPT JSON (`messages`, `images`). Each conversation is rendered in
Qwen2-VL's chat format (the qwen2_vl template LLaMA-Factory trains it with): a default system
turn, user turns closed by `<|im_end|>\\n` and an open assistant header, then the assistant's
content and `<|im_end|>\\n`. Only the assistant spans carry labels; everything else is -100.
`<image>` becomes `<|vision_start|>`, one `<|image_pad|>` per merged patch, `<|vision_end|>`.
Images are downscaled (NEAREST) to at most image_max_pixels as LLaMA-Factory does, then the
model's own image processor sizes them. Tokenized examples are cached by content hash."""

import hashlib
import json
import math
import os
from pathlib import Path

import torch
from PIL import Image
from transformers import AutoTokenizer
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from .config import TrainConfig
from .events import TrainerError, emit

TEMPLATE_VERSION = "qwen2vl-sft-v1"
SYSTEM = "You are a helpful assistant."
IGNORE = -100


def load_rows(cfg: TrainConfig) -> list:
    try:
        rows = json.loads(Path(cfg.train_file).read_text())
    except ValueError as e:
        raise TrainerError("config", f"train_file {cfg.train_file}: not JSON ({e})") from e
    if not isinstance(rows, list) or not rows:
        raise TrainerError("config", f"train_file {cfg.train_file}: expected a non-empty JSON array of rows")
    for i, row in enumerate(rows):
        msgs = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(msgs, list) or not msgs or len(msgs) % 2:
            raise TrainerError("config", f"train_file row {i}: messages must be user/assistant pairs")
        for j, m in enumerate(msgs):
            if m.get("role") != ("user" if j % 2 == 0 else "assistant") or not isinstance(m.get("content"), str):
                raise TrainerError("config", f"train_file row {i}: message {j} must be {'user' if j % 2 == 0 else 'assistant'} text")
        n_images = sum(m["content"].count("<image>") for m in msgs)
        if n_images != len(row.get("images") or []):
            raise TrainerError("config", f"train_file row {i}: {n_images} <image> slots for {len(row.get('images') or [])} images")
    return rows


def segments(messages: list) -> list:
    """(text, labelled) pieces of one conversation in Qwen2-VL's chat format."""
    out = [(f"<|im_start|>system\n{SYSTEM}<|im_end|>\n", False)]
    for m in messages:
        if m["role"] == "user":
            out.append((f"<|im_start|>user\n{m['content']}<|im_end|>\n<|im_start|>assistant\n", False))
        else:
            out.append((f"{m['content']}<|im_end|>\n", True))
    return out


def image_path(cfg: TrainConfig, p: str) -> Path:
    path = Path(p)
    if not path.is_absolute():
        path = Path(cfg.dataset_dir or Path(cfg.train_file).parent) / path
    return path


def load_image(cfg: TrainConfig, p: str) -> Image.Image:
    img = Image.open(image_path(cfg, p)).convert("RGB")
    w, h = img.size
    if w * h > cfg.image_max_pixels:
        f = math.sqrt(cfg.image_max_pixels / (w * h))
        img = img.resize((max(1, int(w * f)), max(1, int(h * f))), Image.Resampling.NEAREST)
    w, h = img.size
    if w * h < cfg.image_min_pixels:
        f = math.sqrt(cfg.image_min_pixels / (w * h))
        img = img.resize((math.ceil(w * f), math.ceil(h * f)), Image.Resampling.NEAREST)
    return img


class Encoder:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.tok = AutoTokenizer.from_pretrained(cfg.base_model)
        self.proc = Qwen2VLImageProcessorPil.from_pretrained(cfg.base_model)
        self.size = {"shortest_edge": cfg.image_min_pixels, "longest_edge": cfg.image_max_pixels}

    def encode(self, row: dict) -> dict | None:
        """One example, or None when truncation at max_length leaves no label."""
        images = [load_image(self.cfg, p) for p in row.get("images") or []]
        vision = self.proc(images=images, return_tensors="pt", size=self.size) if images else None
        pads = [int(g.prod()) // (self.proc.merge_size ** 2) for g in vision["image_grid_thw"]] if vision else []
        ids, labels = [], []
        for text, labelled in segments(row["messages"]):
            parts = text.split("<image>")
            for k, part in enumerate(parts):
                if k > 0:
                    slot = "<|vision_start|>" + "<|image_pad|>" * pads.pop(0) + "<|vision_end|>"
                    piece = self.tok(slot, add_special_tokens=False)["input_ids"]
                    ids += piece
                    labels += [IGNORE] * len(piece)
                piece = self.tok(part, add_special_tokens=False)["input_ids"] if part else []
                ids += piece
                labels += piece if labelled else [IGNORE] * len(piece)
        image_end = max((i for i, t in enumerate(ids) if t == self.tok.convert_tokens_to_ids("<|vision_end|>")), default=-1)
        if len(ids) > self.cfg.max_length:
            if image_end >= self.cfg.max_length:
                return None  # cutting into the image tokens would break the image
            ids, labels = ids[: self.cfg.max_length], labels[: self.cfg.max_length]
        if all(x == IGNORE for x in labels):
            return None
        ex = {"input_ids": torch.tensor(ids, dtype=torch.int32), "labels": torch.tensor(labels, dtype=torch.int32)}
        if vision:
            ex["pixel_values"] = vision["pixel_values"].to(torch.float32)
            ex["image_grid_thw"] = vision["image_grid_thw"].to(torch.int32)
        return ex


def cache_key(cfg: TrainConfig, rows: list) -> str:
    """Training-set bytes, every image's size and mtime, tokenizer and processor files, settings."""
    h = hashlib.sha256()
    h.update(Path(cfg.train_file).read_bytes())
    for row in rows:
        for p in row.get("images") or []:
            st = image_path(cfg, p).stat()
            h.update(f"{p}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    for name in ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json"):
        f = Path(cfg.base_model, name)
        if f.is_file():
            h.update(f.read_bytes())
    settings = dict(template=TEMPLATE_VERSION, max_length=cfg.max_length, image_min_pixels=cfg.image_min_pixels,
                    image_max_pixels=cfg.image_max_pixels, dataset_dir=cfg.dataset_dir)
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()


def tokenized_dataset(cfg: TrainConfig) -> list:
    rows = load_rows(cfg)
    try:
        key = cache_key(cfg, rows)
    except OSError as e:
        raise TrainerError("config", f"training image unreadable: {e}") from e
    cache_dir = Path(cfg.cache_dir or Path(cfg.output_dir) / "tokenized")
    cached = cache_dir / f"{key}.pt"
    if cached.is_file():
        examples = torch.load(cached, weights_only=True)
        emit("data", examples=len(examples), dropped=len(rows) - len(examples), cache="hit", key=key)
        return examples
    enc = Encoder(cfg)
    examples = []
    for i, row in enumerate(rows):
        try:
            ex = enc.encode(row)
        except OSError as e:
            raise TrainerError("config", f"train_file row {i}: image unreadable: {e}") from e
        if ex is not None:
            examples.append(ex)
    if not examples:
        raise TrainerError("config", f"no example fits max_length {cfg.max_length} with a label left")
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".tmp{os.getpid()}")
    torch.save(examples, tmp)
    os.replace(tmp, cached)  # complete or absent: a killed run never leaves half a cache
    emit("data", examples=len(examples), dropped=len(rows) - len(examples), cache="miss", key=key)
    return examples
