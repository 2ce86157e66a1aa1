"""python -m adamllm_trainer train --config CONFIG [--resume-from CHECKPOINT]
python -m adamllm_trainer inspect --config CONFIG [--row N]   (a rendered example: tokens, labels)

Exit codes: 0 done; 2 bad config or input data (retrying cannot help); 3 export validation
failed; 143 stopped by SIGTERM after a checkpoint; 1 anything else."""

import argparse
import json
import logging
import os
import sys
import traceback
import warnings

from .events import TrainerError, emit

EXIT = {"config": 2, "export": 3, "runtime": 1}


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
    args = parser.parse_args(argv)

    from .config import load_config

    try:
        cfg = load_config(args.config)
        if args.command == "inspect":
            return inspect(cfg, args.row)
        if args.command == "validate":
            return validate_export(cfg, args.onnx)
        from .data import load_rows
        from .export import export_model
        from .train import train

        model, step, total, stopped, losses = train(cfg, args.resume_from)
        if stopped:
            emit("stopped", step=step, total_steps=total)
            return 143
        paths = export_model(model, cfg, load_rows(cfg))
        emit("done", step=step, total_steps=total, final_loss=losses[-1] if losses else None, first_loss=losses[0] if losses else None, **paths)
        return 0
    except TrainerError as e:
        emit("error", type=e.kind, message=str(e))
        return EXIT.get(e.kind, 1)
    except Exception as e:  # noqa: BLE001 - reported as an event, with the trace on stderr
        traceback.print_exc()
        emit("error", type="runtime", message=f"{type(e).__name__}: {e}")
        return 1


def validate_export(cfg, onnx_dir) -> int:
    from pathlib import Path

    from transformers import Qwen2VLForConditionalGeneration

    from .data import load_rows
    from .export import validate

    model = Qwen2VLForConditionalGeneration.from_pretrained(Path(cfg.output_dir) / "hf", dtype="float32").eval()
    emit("validation", **validate(model, cfg, Path(onnx_dir or Path(cfg.output_dir) / "onnx"), load_rows(cfg)))
    return 0


def inspect(cfg, row: int) -> int:
    from .data import Encoder, load_rows

    rows = load_rows(cfg)
    enc = Encoder(cfg)
    ex = enc.encode(rows[row])
    ids = ex["input_ids"].tolist()
    labels = ex["labels"].tolist()
    print(json.dumps({"tokens": enc.tok.convert_ids_to_tokens(ids), "input_ids": ids, "labels": labels,
                      "labelled_text": enc.tok.decode([t for t in labels if t != -100]),
                      "image_grid_thw": ex["image_grid_thw"].tolist() if "image_grid_thw" in ex else None}))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    sys.exit(main())
