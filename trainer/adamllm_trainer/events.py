"""One JSON object per line on stdout: the train activity's only view of the trainer. Anything
else (library warnings) goes to stderr."""

import json
import os
import sys
import time

_RANK = 0
_READER_GONE = False

# The process's exit code by outcome; an `error` event's type (TrainerError.kind) is one of
# runtime, config, export. The train activity reads them through the same names
# (activities/trainer/trainer-events.ts TRAINER_EXIT; tests/models/config-drift.test.ts keeps the two equal).
EXIT_CODES = {
    "done": 0,
    "runtime": 1,  # anything else: the activity retries, resuming from the last checkpoint
    "config": 2,  # bad settings or input data: retrying cannot help
    "export": 3,  # the ONNX export does not reproduce PyTorch
    "stopped": 143,  # SIGTERM (or the worker's death) after a checkpoint
}


def set_rank(rank: int) -> None:
    """Only rank 0 of a multi-process run speaks: one event stream, whatever the world size."""
    global _RANK
    _RANK = rank


def emit(event: str, **fields) -> None:
    if _RANK != 0:
        return
    if _READER_GONE:
        return
    line = json.dumps({"event": event, "time": round(time.time(), 3), **fields}, allow_nan=False, default=str)
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, ConnectionResetError):
        _reader_gone()


def _reader_gone() -> None:
    """The worker that read the events is gone (it died: the guard then sends SIGTERM). The
    trainer must go on to its stop checkpoint and exit, not die of EPIPE here: rank 0 raising
    mid-step left the other ranks in the checkpoint's barrier and itself stuck at exit joining
    its DataLoader workers (which ignore SIGTERM), so the orphan launch lived on for torchrun's
    whole shutdown timeout and wrote no checkpoint. Later events and the interpreter's final
    flush go to /dev/null."""
    global _READER_GONE
    _READER_GONE = True
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):
        pass


class TrainerError(Exception):
    """A failure with a type the activity maps to retryable or not: config (bad settings or
    input data, never retried), export (validation mismatch), runtime (anything else)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
