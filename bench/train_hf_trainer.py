"""Baseline for `npm run bench:train`: a plain transformers Trainer on the same tiny Qwen2-VL,
the same examples (adamllm_trainer's encoder and collator, so the inputs are identical) and the
same settings. `memory` (default): every example's pixels computed up front and kept in memory;
`stream`: the trainer's own tokenized cache and on-the-fly image loading (TokenizedSet) with as
many DataLoader workers as the config says, so only the training loops differ.
Prints one JSON line: tokens, seconds, tokens/s."""

import json
import math
import os
import sys
import time
import warnings

import torch

warnings.filterwarnings("ignore")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from transformers import AutoTokenizer, Qwen2VLForConditionalGeneration, Trainer, TrainingArguments  # noqa: E402

from adamllm_trainer.config import load_config  # noqa: E402
from adamllm_trainer.data import Encoder, iter_rows  # noqa: E402
from adamllm_trainer.loader import collate  # noqa: E402
from adamllm_trainer.train import seed_all  # noqa: E402


def in_memory_examples(cfg) -> list:
    """The examples with their pixel values, all in memory (what the trainer no longer does)."""
    enc, out = Encoder(cfg), []
    for _, row in iter_rows(cfg):
        ex, _ = enc.encode(row, with_pixels=True)
        if ex is not None:
            out.append({"input_ids": torch.from_numpy(ex["input_ids"]).long(), "labels": torch.from_numpy(ex["labels"]).long(),
                        "pixel_values": ex["pixel_values"], "image_grid_thw": ex["image_grid_thw"]})
    return out


def main() -> None:
    cfg = load_config(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "memory"
    if mode == "stream":
        from adamllm_trainer.loader import TokenizedSet
        from adamllm_trainer.tokenized import tokenized_folder

        examples = TokenizedSet(cfg, *tokenized_folder(cfg))
    else:
        examples = in_memory_examples(cfg)
    seed_all(cfg.seed)
    model = Qwen2VLForConditionalGeneration.from_pretrained(cfg.base_model, dtype="float32")
    for p in model.model.visual.parameters():
        p.requires_grad_(False)
    tok = AutoTokenizer.from_pretrained(cfg.base_model)
    image_token = model.config.image_token_id
    total = math.ceil(len(examples) / cfg.global_batch()) * math.ceil(cfg.epochs)
    args = TrainingArguments(
        output_dir=os.path.join(cfg.output_dir, "hf-trainer"), per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs, lr_scheduler_type="cosine", warmup_steps=math.ceil(cfg.warmup_ratio * total),
        weight_decay=cfg.weight_decay, max_grad_norm=cfg.max_grad_norm, seed=cfg.seed, use_cpu=True,
        save_strategy="no", report_to=[], logging_steps=1000, remove_unused_columns=False,
        dataloader_num_workers=cfg.dataloader_workers if mode == "stream" else 0, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=examples,
                      data_collator=lambda batch: collate(batch, tok.pad_token_id, image_token))
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    tokens = int(cfg.epochs * (int(examples.lengths.sum()) if mode == "stream" else sum(len(e["input_ids"]) for e in examples)))
    print(json.dumps({"tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds, "steps": result.global_step, "loss": result.training_loss}))


if __name__ == "__main__":
    main()
