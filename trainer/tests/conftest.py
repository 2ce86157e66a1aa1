"""Shared fixtures of the trainer's unit tests: the tiny Qwen2-VL that scripts/build-models.sh
builds (models/out/qwen2vl-tiny), its reference image, and a config over a training file."""

import json
import sys
from pathlib import Path

import pytest

TRAINER = Path(__file__).resolve().parents[1]
ROOT = TRAINER.parent
sys.path.insert(0, str(TRAINER))  # adamllm_trainer without installing it (as PYTHONPATH=trainer does)

TINY_VL = ROOT / "models" / "out" / "qwen2vl-tiny"
IMAGE = ROOT / "models" / "out" / "reference_image.png"


@pytest.fixture(scope="session")
def tiny_vl() -> Path:
    if not (TINY_VL / "config.json").is_file():
        pytest.fail(f"{TINY_VL} is missing: run bash scripts/build-models.sh")
    return TINY_VL


@pytest.fixture
def make_config(tmp_path, tiny_vl):
    """A TrainConfig over `rows` (written as the train file), with `overrides`, as load_config reads it."""
    from adamllm_trainer.config import load_config

    def make(rows=None, **overrides):
        train_file = tmp_path / "train.json"
        train_file.write_text(json.dumps(rows if rows is not None else [chat_row()]))
        data = {"base_model": str(tiny_vl), "train_file": str(train_file), "output_dir": str(tmp_path / "out"), **overrides}
        config_file = tmp_path / "config.json"
        config_file.write_text(json.dumps(data))
        return load_config(str(config_file))

    return make


def chat_row(question="What is shown?", answer="A red square.") -> dict:
    return {"messages": [{"role": "user", "content": f"<image>{question}"}, {"role": "assistant", "content": answer}], "images": [str(IMAGE)]}
