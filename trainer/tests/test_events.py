"""The event stream's reader going away (the worker died; its guard then sends SIGTERM) must
not crash rank 0: it still has to checkpoint and exit. Before, emit raised BrokenPipeError
mid-step, rank 0 left the other ranks waiting in the checkpoint's barrier, and the launch
outlived its worker by torchrun's whole shutdown timeout."""

import subprocess
import sys

from conftest import TRAINER

SCRIPT = """
import os, sys, time
from adamllm_trainer.events import emit
sys.stdin.read()  # returns once the test has closed its end of stdout's pipe
emit("step", step=1)
emit("step", step=2)
print("carried on", file=sys.stderr, flush=True)
sys.exit(143)
"""


def test_emit_after_the_reader_is_gone_drops_the_events_and_carries_on():
    p = subprocess.Popen([sys.executable, "-c", SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env={"PYTHONPATH": str(TRAINER)})
    p.stdout.close()  # the worker dies
    p.stdin.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 143, err
    assert "carried on" in err
    assert "BrokenPipeError" not in err
