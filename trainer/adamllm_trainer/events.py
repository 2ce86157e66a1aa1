"""One JSON object per line on stdout: the train activity's only view of the trainer. Anything
else (library warnings) goes to stderr."""

import json
import sys
import time


_RANK = 0

# The process's exit code by outcome; an `error` event's type (TrainerError.kind) is one of
# runtime, config, export. The train activity reads them through the same names
# (activities/train/trainer-events.ts TRAINER_EXIT; tests/trainer/config-drift.test.ts keeps the two equal).
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
    line = json.dumps({"event": event, "time": round(time.time(), 3), **fields}, allow_nan=False, default=str)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class TrainerError(Exception):
    """A failure with a type the activity maps to retryable or not: config (bad settings or
    input data, never retried), export (validation mismatch), runtime (anything else)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
