"""The training set as token ids and labels, tokenized once into shards; pixels on the fly.

Rows are the export's ShareGPT JSON (`messages`, `images`), read as a stream (ijson), so the
150k rows of a paper-scale domain are never one Python list. Each conversation is rendered in
Qwen2-VL's chat format (the qwen2_vl template LLaMA-Factory trains it with): a default system
turn, user turns closed by `<|im_end|>\\n` and an open assistant header, then the assistant's
content and `<|im_end|>\\n`. Only the assistant spans carry labels; everything else is -100.
`<image>` becomes `<|vision_start|>`, one `<|image_pad|>` per merged patch, `<|vision_end|>`.
Images are sized as LLaMA-Factory's Qwen2-VL plugin sizes them (regularize): scaled (NEAREST) to
at most image_max_pixels and at least image_min_pixels, each side at least 28 px and the aspect
ratio at most 200, then the model's own image processor (its preprocessor_config.json bounds)
rounds them to its 28-px grid. The completion sequence (a text-only judge) has rows
{"prompt", "completion"} and no chat format: the raw prompt as context, then the labelled
completion and eos (Encoder.completion_ids).

What is kept on disk is small: per example its token ids, labels, image grid sizes and image
paths (about 8 bytes a token: 150k examples x ~1.5k tokens ~ 2 GB, memory-mapped). Pixel
values are not kept: one 512x512 image is 1,296 patches x 1,176 floats ~ 6 MB, ~0.9 TB for
150k. The DataLoader's workers decode and preprocess each image when its batch comes (see
loader.py). The tokenization lives in tokenized.py."""

import math
from pathlib import Path

import ijson
import numpy as np
from PIL import Image
from transformers import AutoTokenizer
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from .config import TrainConfig
from .events import TrainerError

# v2: images sized as LLaMA-Factory does (regularize), not by the training bounds in the processor
TEMPLATE_VERSION = "qwen2vl-sft-v2"
COMPLETION_VERSION = "prompt-completion-eos-v1"
SYSTEM = "You are a helpful assistant."
END_OF_SYNTHESIS = "<|endoftext|>"
IGNORE = -100

# why an example is left out of training (the data event counts them by these reasons)
CUT_IMAGE = "longer than maxLength with the image cut"
NO_LABEL = "no labelled token within maxLength"
UNREADABLE = "image unreadable"
UNPROCESSABLE = "image unprocessable"


def check_row(i: int, row, sequence: str = "chat") -> None:
    """A row the export could not have written is bad input: the run stops, naming the row."""
    if sequence == "completion":
        if not isinstance(row, dict) or set(row) != {"prompt", "completion"} or not isinstance(row["prompt"], str) \
                or not isinstance(row["completion"], str) or not row["completion"]:
            raise TrainerError("config", f"train_file row {i}: a completion row is {{\"prompt\": text, \"completion\": non-empty text}} and nothing else (no messages, no images)")
        return
    msgs = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(msgs, list) or not msgs or len(msgs) % 2:
        raise TrainerError("config", f"train_file row {i}: messages must be user/assistant pairs")
    if sequence == "synthesizer" and (len(msgs) < 4 or not isinstance(msgs[0], dict) or not str(msgs[0].get("content", "")).startswith("<image>")):
        raise TrainerError("config", f"train_file row {i}: a synthesizer row is a caption turn (user <image>..., assistant caption) and at least one task turn")
    for j, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") != ("user" if j % 2 == 0 else "assistant") or not isinstance(m.get("content"), str):
            raise TrainerError("config", f"train_file row {i}: message {j} must be {'user' if j % 2 == 0 else 'assistant'} text")
    images = row.get("images") or []
    n_images = sum(m["content"].count("<image>") for m in msgs)
    if n_images != len(images):
        raise TrainerError("config", f"train_file row {i}: {n_images} <image> slots for {len(images)} images")


def iter_rows(cfg: TrainConfig):
    """(index, row) for every row of the training set, checked, streamed from disk."""
    path = Path(cfg.train_file)
    with path.open("rb") as f:
        if not f.read(4096).lstrip().startswith(b"["):
            raise TrainerError("config", f"train_file {path}: expected a non-empty JSON array of rows")
        f.seek(0)
        n = 0
        try:
            for row in ijson.items(f, "item", use_float=True):
                check_row(n, row, cfg.sequence)
                yield n, row
                n += 1
        except ijson.JSONError as e:
            raise TrainerError("config", f"train_file {path}: not JSON ({e})") from e
    if n == 0:
        raise TrainerError("config", f"train_file {path}: expected a non-empty JSON array of rows")


def first_rows(cfg: TrainConfig, k: int) -> list:
    out = []
    for _, row in iter_rows(cfg):
        if len(out) >= k:
            break
        out.append(row)
    return out


def segments(messages: list, sequence: str = "chat") -> list:
    """(text, labelled) pieces of one conversation in Qwen2-VL's chat format.

    chat: only the assistant turns are labelled. synthesizer (docs/method.md 5.3): the first turn pair
    (image + caption hint, caption) is context; everything after it is labelled, and the sequence
    ends with <|endoftext|> (labelled), the synthesizer's end of synthesis. The unlabelled part is
    exactly the synthesis prompt the synthesize stage sends (core/synth/contract.ts,
    QWEN2VL_SYNTH) minus its final open user header, which is labelled here: a test renders both.
    """
    out = [(f"<|im_start|>system\n{SYSTEM}<|im_end|>\n", False)]
    for j, m in enumerate(messages):
        labelled = m["role"] == "assistant" if sequence == "chat" else j >= 2
        if m["role"] == "user":
            out.append((f"<|im_start|>user\n{m['content']}<|im_end|>\n<|im_start|>assistant\n", labelled))
        else:
            out.append((f"{m['content']}<|im_end|>\n", labelled))
    if sequence == "synthesizer":
        out.append((END_OF_SYNTHESIS, True))
    return out


def image_path(cfg: TrainConfig, p: str) -> Path:
    path = Path(p)
    if not path.is_absolute():
        path = Path(cfg.dataset_dir or Path(cfg.train_file).parent) / path
    return path


# LLaMA-Factory's Qwen2-VL plugin: the processor's smart_resize refuses an aspect ratio over
# MAX_RATIO (and older transformers a side under 28 px), so the plugin clamps before it does
MIN_SIDE, MAX_RATIO, CLAMPED_RATIO = 28, 200, 180


def _resized(img: Image.Image, w: int, h: int) -> Image.Image:
    return img.resize((w, h), Image.Resampling.NEAREST)


def regularize(img: Image.Image, max_pixels: int, min_pixels: int) -> Image.Image:
    """The image LLaMA-Factory's Qwen2-VL plugin hands the image processor, step by step: scaled
    to at most max_pixels, then to at least min_pixels (sides truncated to ints, so the area may
    end a little outside the bounds), a side under 28 px widened to 28, and a strip longer than
    200:1 cut to 180:1 along its short side. Only max(1, ...) on the downscale is ours: a
    1-px-wide side would become 0, which PIL cannot resize to (LLaMA-Factory fails there)."""
    w, h = img.size
    if w * h > max_pixels:
        f = math.sqrt(max_pixels / (w * h))
        img = _resized(img, max(1, int(w * f)), max(1, int(h * f)))
    w, h = img.size
    if w * h < min_pixels:
        f = math.sqrt(min_pixels / (w * h))
        img = _resized(img, int(w * f), int(h * f))
    w, h = img.size
    if min(w, h) < MIN_SIDE:
        img = _resized(img, max(w, MIN_SIDE), max(h, MIN_SIDE))
    w, h = img.size
    if w / h > MAX_RATIO:
        img = _resized(img, h * CLAMPED_RATIO, h)
    w, h = img.size
    if h / w > MAX_RATIO:
        img = _resized(img, w, w * CLAMPED_RATIO)
    return img


def load_image(cfg: TrainConfig, p: str) -> Image.Image:
    return regularize(Image.open(image_path(cfg, p)).convert("RGB"), cfg.image_max_pixels, cfg.image_min_pixels)


class ImageUnreadable(OSError):
    """A row's image cannot be used: the row is left out of training with `reason`."""

    reason = UNREADABLE


class ImageUnprocessable(ImageUnreadable):
    """Decoded, but the image processor refuses it (its ValueError): left out, not fatal."""

    reason = UNPROCESSABLE


class Encoder:
    """Token ids and labels of one row; its images are decoded once here to size the image
    slots (and to find the ones that cannot be read), then dropped."""

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.tok = AutoTokenizer.from_pretrained(cfg.base_model)
        # the model's own bounds (preprocessor_config.json), as LLaMA-Factory leaves them: the
        # training bounds act before it (regularize), so a grid may end a little above them
        self.proc = Qwen2VLImageProcessorPil.from_pretrained(cfg.base_model)
        self.vision_end = self.tok.convert_tokens_to_ids("<|vision_end|>")

    def pixels(self, paths: list) -> dict | None:
        """pixel_values and image_grid_thw of a row's images, as the model takes them."""
        if not paths:
            return None
        try:
            images = [load_image(self.cfg, p) for p in paths]
        except (OSError, Image.DecompressionBombError) as e:  # missing, truncated, not an image, too large to decode
            raise ImageUnreadable(str(e)) from e
        try:
            return self.proc(images=images, return_tensors="pt")
        except (ValueError, ArithmeticError) as e:  # e.g. smart_resize's aspect-ratio check
            raise ImageUnprocessable(f"{', '.join(map(str, paths))}: {e}") from e

    def completion_ids(self, row: dict) -> tuple:
        """(ids, labels) of a completion row: prompt ids, then completion ids and the eos.

        Prompt and completion are tokenized apart, without special tokens: the prompt's ids are
        then exactly what the onnx backend feeds the judge at inference (the prompt alone,
        add_special_tokens false; Qwen2 tokenizers add no BOS either way), and no BPE merge can
        straddle the boundary. The terminator is the tokenizer's eos, labelled: the model learns
        to stop right after the completion, and the eos is in the generation config's stop list
        (onnx backend) and is the stop token of a vLLM server, and is skipped from the decoded
        text. So greedy decoding of a judge trained on " Yes" + eos writes " Yes" then stops (at
        most 2 new tokens, docs/method.md 6.1), and parseJudgeLabel reads strip(" Yes") = "yes". A
        newline terminator (what Llama-3 writes there) would work for the judge too, since the
        label is stripped, but it would stay in the text of any other completion model."""
        eos = self.tok.eos_token_id
        if eos is None:
            raise TrainerError("config", f"sequence completion: the tokenizer of {self.cfg.base_model} has no eos token to end a completion with")
        prompt = self.tok(row["prompt"], add_special_tokens=False)["input_ids"] if row["prompt"] else []
        completion = self.tok(row["completion"], add_special_tokens=False)["input_ids"] + [eos]
        return prompt + completion, [IGNORE] * len(prompt) + completion

    def encode(self, row: dict, with_pixels: bool = False) -> tuple:
        """(example, None) or (None, reason why it is left out). Raises ImageUnreadable (or
        ImageUnprocessable) for an image that cannot be used: its `reason` says which."""
        if self.cfg.sequence == "completion":
            ids, labels = self.completion_ids(row)
            if len(ids) > self.cfg.max_length:  # the end is cut: the prompt stays whole while it fits
                ids, labels = ids[: self.cfg.max_length], labels[: self.cfg.max_length]
            if all(x == IGNORE for x in labels):
                return None, NO_LABEL
            return {"input_ids": np.asarray(ids, np.int32), "labels": np.asarray(labels, np.int32), "grids": [], "images": []}, None
        paths = row.get("images") or []
        vision = self.pixels(paths)
        grids = vision["image_grid_thw"].tolist() if vision else []
        pads = [math.prod(g) // (self.proc.merge_size ** 2) for g in grids]
        ids, labels = [], []
        for text, labelled in segments(row["messages"], self.cfg.sequence):
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
        image_end = max((i for i, t in enumerate(ids) if t == self.vision_end), default=-1)
        if len(ids) > self.cfg.max_length:
            if image_end >= self.cfg.max_length:
                return None, CUT_IMAGE  # cutting into the image tokens would break the image
            ids, labels = ids[: self.cfg.max_length], labels[: self.cfg.max_length]
        if all(x == IGNORE for x in labels):
            return None, NO_LABEL
        ex = {"input_ids": np.asarray(ids, np.int32), "labels": np.asarray(labels, np.int32), "grids": grids, "images": list(paths)}
        if with_pixels and vision:
            ex["pixel_values"] = vision["pixel_values"].float()
            ex["image_grid_thw"] = vision["image_grid_thw"].long()
        return ex, None


def settings_for_key(cfg: TrainConfig) -> dict:
    # the sequence kind only when not chat, so caches made before it existed stay valid; a
    # completion cache also names its encoding (prompt, completion, eos), which is no template
    extra = {"sequence": cfg.sequence} if cfg.sequence != "chat" else {}
    if cfg.sequence == "completion":
        extra["completion"] = COMPLETION_VERSION
    return dict(template=TEMPLATE_VERSION, **extra, max_length=cfg.max_length, image_min_pixels=cfg.image_min_pixels,
                image_max_pixels=cfg.image_max_pixels, dataset_dir=cfg.dataset_dir)
