"""A bad setting is refused before any work, with the field named (the activity shows the
message to the operator and does not retry: TrainerError kind "config", exit 2)."""

import pytest

from adamllm_trainer.events import TrainerError


def test_defaults_are_accepted(make_config):
    cfg = make_config()
    assert cfg.finetuning == "full" and cfg.sequence == "chat"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"finetuning": "half"}, "finetuning"),
        ({"device": "tpu"}, "device"),
        ({"precision": "fp8"}, "precision"),
        ({"sequence": "dialogue"}, "sequence"),
        ({"strategy": "zero3"}, "strategy"),
        ({"attn_implementation": "xformers"}, "attn_implementation"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"epochs": -1}, "epochs"),
        ({"warmup_ratio": 1.0}, "warmup_ratio"),
        ({"per_device_batch_size": 0}, "per_device_batch_size"),
        ({"gradient_accumulation_steps": 1.5}, "gradient_accumulation_steps"),
        ({"max_length": 0}, "max_length"),
        ({"tokenize_workers": -1}, "tokenize_workers"),
        ({"dataloader_workers": -2}, "dataloader_workers"),
        ({"image_min_pixels": 10**7}, "image_min_pixels"),
        ({"export": {"dtype": "int8"}}, "export.dtype"),
        ({"base_model": "/nonexistent/model"}, "base_model"),
        ({"learning_rat": 1e-5}, "learning_rat"),  # a misspelt key is refused, never ignored
        ({"lora": {"rank": 8}}, "rank"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(make_config, overrides, field):
    with pytest.raises(TrainerError) as e:
        make_config(**overrides)
    assert e.value.kind == "config"
    assert field in str(e.value)


def test_every_problem_is_reported_at_once(make_config):
    with pytest.raises(TrainerError) as e:
        make_config(finetuning="half", learning_rate=-1)
    assert "finetuning" in str(e.value) and "learning_rate" in str(e.value)
