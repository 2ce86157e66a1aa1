"""Every checkpoint folder, and output_dir once training is done, holds the resolved config
(train_config.json: every setting, the defaults filled in), so a model's training settings can be
read next to its weights without the run that made it."""

import json

from adamllm_trainer.__main__ import main
from adamllm_trainer.config import RESOLVED_FILE
from adamllm_trainer.train import checkpoints
from conftest import chat_row


def test_each_checkpoint_and_the_final_output_store_the_resolved_config(make_config, tmp_path):
    rows = [chat_row(f"Question {i}?", f"Answer number {i}.") for i in range(4)]
    # the config file as the activity writes it: only some settings, the trainer fills the rest
    cfg = make_config(rows, device="cpu", precision="fp32", epochs=2, max_steps=3, per_device_batch_size=2, gradient_accumulation_steps=1,
                      dataloader_workers=0, tokenize_workers=1, gradient_checkpointing=False, save_steps=1, save_total_limit=2)
    given = json.loads((tmp_path / "config.json").read_text())
    assert "log_every" not in given and "validate_new_tokens" not in given.get("export", {})

    assert main(["train", "--config", str(tmp_path / "config.json")]) == 0

    resolved = cfg.to_dict()
    saved = checkpoints(tmp_path / "out")
    assert [p.name for p in saved] == ["step-0000002", "step-0000003"]  # save_total_limit 2 of 3
    for folder in [*saved, tmp_path / "out"]:
        stored = json.loads((folder / RESOLVED_FILE).read_text())
        assert stored == resolved, folder
        assert stored["log_every"] == 1 and stored["export"]["validate_new_tokens"] == 16 and stored["max_steps"] == 3
    assert (tmp_path / "out" / "hf" / "config.json").is_file()
    assert not (tmp_path / "out" / "hf" / RESOLVED_FILE).exists()  # the export's content (its revision) does not carry this run's paths
