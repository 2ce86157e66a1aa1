"""Every setting of the trainer's config says what it does: a field without help text is refused
the first time a config is made, and `python -m adamllm_trainer config` shows them all."""

from dataclasses import dataclass, field, fields

import pytest

from adamllm_trainer.__main__ import main
from adamllm_trainer.config import ExportSettings, LoraSettings, TrainConfig, describe, require_help, setting


@pytest.mark.parametrize("cls", [TrainConfig, LoraSettings, ExportSettings])
def test_every_setting_has_help(cls):
    assert [f.name for f in fields(cls) if len(f.metadata.get("help", "").strip()) < 10] == []


def test_a_setting_without_help_is_refused_when_a_config_is_made():
    @dataclass
    class Grown(TrainConfig):
        documented: int = setting(1, help="a setting that says what it does")
        undocumented: int = field(default=0)

    with pytest.raises(RuntimeError, match="undocumented") as e:
        Grown(base_model="", train_file="", output_dir="")
    assert "documented," not in str(e.value)  # only the one without help is named


def test_the_help_check_runs_for_the_groups_too():
    @dataclass
    class GrownLora(LoraSettings):
        rank_dropout: float = 0.0

    with pytest.raises(RuntimeError, match="rank_dropout"):
        GrownLora()
    require_help(LoraSettings())  # the real one passes


def test_the_config_command_lists_every_setting_with_its_help(capsys):
    assert main(["config"]) == 0
    text = capsys.readouterr().out
    settings = describe()
    for name, entry in settings.items():
        for sub, d in (entry.get("settings") or {name: entry}).items():
            dotted = sub if sub == name else f"{name}.{sub}"
            assert f"\n{dotted} " in f"\n{text}", dotted
            assert d["help"].split()[0] in text
    assert "base_model (required)" in text and "lora.r = 16" in text and 'export.dtype = "base"' in text
