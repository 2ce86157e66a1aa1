"""python -m adamllm_trainer train --config CONFIG [--resume-from CHECKPOINT]
   (several processes: python -m torch.distributed.run --standalone --nproc-per-node N -m adamllm_trainer train ...)
python -m adamllm_trainer export-onnx --config CONFIG   (output_dir/hf -> output_dir/onnx, validated)
python -m adamllm_trainer validate --config CONFIG [--onnx DIR]
python -m adamllm_trainer inspect --config CONFIG [--row N]   (a rendered example: tokens, labels)
python -m adamllm_trainer diff-weights --base DIR --checkpoint DIR   (which tensors training changed)
python -m adamllm_trainer init-model --corpus FILE [FILE ...] --out DIR [--vocab-size N --hidden N --heads N --layers N --vision-depth N --seed N]
   (a new Qwen2-VL: a tokenizer trained on the corpus, random weights; see init_model.py)
python -m adamllm_trainer config [--json]   (every setting of CONFIG: its default and help)

Exit codes (events.EXIT_CODES): 0 done; 2 bad config or input data (retrying cannot help);
3 export validation failed; 143 stopped by SIGTERM after a checkpoint; 1 anything else. Under
torchrun the launcher's exit code is its own: the `error` event's type says which of these it was."""

import argparse
import json
import logging
import os
import sys
import traceback
import warnings

from .events import EXIT_CODES, TrainerError, emit


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="adamllm_trainer")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train (or resume), then export")
    t.add_argument("--config", required=True)
    t.add_argument("--resume-from", help="a checkpoint folder (default: the newest complete one in output_dir)")
    v = sub.add_parser("validate", help="compare an ONNX folder's greedy outputs with the exported HF model")
    v.add_argument("--config", required=True)
    v.add_argument("--onnx", help="ONNX folder (default: output_dir/onnx)")
    i = sub.add_parser("inspect", help="print one rendered training example with its labels")
    i.add_argument("--config", required=True)
    i.add_argument("--row", type=int, default=0)
    o = sub.add_parser("export-onnx", help="export output_dir/hf to output_dir/onnx (transformers.js layout) and validate it")
    o.add_argument("--config", required=True)
    w = sub.add_parser("diff-weights", help="fractions of the base model's tensors and elements a checkpoint changed, trainable and frozen")
    w.add_argument("--base", required=True)
    w.add_argument("--checkpoint", required=True, help="a checkpoint folder or an exported HF folder")
    n = sub.add_parser("init-model", help="a new Qwen2-VL folder: a tokenizer trained on a corpus, random weights")
    n.add_argument("--corpus", required=True, nargs="+", help="text files; every non-empty line is a training sentence")
    n.add_argument("--out", required=True)
    n.add_argument("--vocab-size", type=int, default=2048)
    n.add_argument("--hidden", type=int, default=128)
    n.add_argument("--heads", type=int, default=4, help="attention heads of the language model; a head is hidden/heads wide")
    n.add_argument("--layers", type=int, default=2)
    n.add_argument("--vision-depth", type=int, default=2)
    n.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("config", help="every setting of the JSON config (--config) with its default and help")
    c.add_argument("--json", action="store_true", help="as JSON: {name: {help, default}}, a group's under settings")
    args = parser.parse_args(argv)
    if args.command == "config":
        from .config import describe, describe_text

        print(json.dumps(describe(), indent=2) if args.json else describe_text(describe()))
        return EXIT_CODES["done"]
    if args.command == "init-model":
        from pathlib import Path

        from .init_model import init_model

        if args.hidden % 8 or args.hidden < 32:
            emit("error", type="config", message=f"init-model: --hidden {args.hidden} must be a multiple of 8, at least 32 (M-RoPE sections)")
            return EXIT_CODES["config"]
        # M-RoPE splits half a head into three sections: a head of at least 8, even
        if args.heads < 1 or args.hidden % args.heads or (args.hidden // args.heads) % 2 or args.hidden // args.heads < 8:
            emit("error", type="config", message=f"init-model: --heads {args.heads} must divide --hidden {args.hidden} into heads of an even width of at least 8")
            return EXIT_CODES["config"]
        try:
            emit("init", **init_model(args.corpus, Path(args.out), args.vocab_size, args.hidden, args.layers, args.vision_depth, args.seed, args.heads))
        except (OSError, ValueError) as e:
            emit("error", type="config", message=f"init-model: {e}")
            return EXIT_CODES["config"]
        return EXIT_CODES["done"]
    if args.command == "diff-weights":
        from .weights import diff_weights

        print(json.dumps(diff_weights(args.base, args.checkpoint)))
        return EXIT_CODES["done"]

    from .config import load_config

    try:
        cfg = load_config(args.config)
        if args.command == "inspect":
            return inspect(cfg, args.row)
        if args.command == "validate":
            return validate_export(cfg, args.onnx)
        if args.command == "export-onnx":
            from .export import onnx_from_hf

            emit("export", **onnx_from_hf(cfg))
            return EXIT_CODES["done"]
        from . import dist
        from .export import export_model
        from .train import train

        net, step, total, stopped, losses, d = train(cfg, args.resume_from)
        if stopped:
            emit("stopped", step=step, total_steps=total)
            dist.close(d)
            return EXIT_CODES["stopped"]
        paths = export_model(net, cfg, d)
        dist.barrier(d)
        dist.close(d)
        if paths is not None:
            emit("done", step=step, total_steps=total, final_loss=losses[-1] if losses else None, first_loss=losses[0] if losses else None, **paths)
        return EXIT_CODES["done"]
    except TrainerError as e:
        emit("error", type=e.kind, message=str(e))
        return EXIT_CODES.get(e.kind, EXIT_CODES["runtime"])
    except Exception as e:  # noqa: BLE001 - reported as an event, with the trace on stderr
        try:
            traceback.print_exc()
        except OSError:
            pass  # stderr's reader (the worker) is gone: an EPIPE here must not skip the exit code
        emit("error", type="runtime", message=f"{type(e).__name__}: {e}")
        return EXIT_CODES["runtime"]


def validate_export(cfg, onnx_dir) -> int:
    from pathlib import Path

    from transformers import Qwen2VLForConditionalGeneration

    from .data import first_rows
    from .export import validate

    model = Qwen2VLForConditionalGeneration.from_pretrained(Path(cfg.output_dir) / "hf", dtype="float32").eval()
    emit("validation", **validate(model, cfg, Path(onnx_dir or Path(cfg.output_dir) / "onnx"), first_rows(cfg, cfg.export.validate_prompts)))
    return EXIT_CODES["done"]


def inspect(cfg, row: int) -> int:
    from .data import Encoder, ImageUnreadable, iter_rows

    found = next((r for i, r in iter_rows(cfg) if i == row), None)
    if found is None:
        raise TrainerError("config", f"inspect: the training set has no row {row}")
    enc = Encoder(cfg)
    try:
        ex, reason = enc.encode(found)
    except ImageUnreadable as e:  # training leaves such a row out (tokenized.py) rather than failing
        ex, reason = None, f"{e.reason} ({e})"
    if ex is None:
        raise TrainerError("config", f"inspect: row {row} is left out of training: {reason}")
    ids = ex["input_ids"].tolist()
    labels = ex["labels"].tolist()
    print(json.dumps({"tokens": enc.tok.convert_ids_to_tokens(ids), "input_ids": ids, "labels": labels,
                      "labelled_text": enc.tok.decode([t for t in labels if t != -100]),
                      "image_grid_thw": ex["grids"] or None}))
    return EXIT_CODES["done"]


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    sys.exit(main())
