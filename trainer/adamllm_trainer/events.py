"""One JSON object per line on stdout: the train activity's only view of the trainer. Anything
else (library warnings) goes to stderr."""

import json
import sys
import time


def emit(event: str, **fields) -> None:
    line = json.dumps({"event": event, "time": round(time.time(), 3), **fields}, allow_nan=False, default=str)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class TrainerError(Exception):
    """A failure with a type the activity maps to retryable or not: config (bad settings or
    input data, never retried), export (validation mismatch), runtime (anything else)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
