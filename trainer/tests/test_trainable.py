"""A few optimizer steps of the real training loop on the tiny Qwen2-VL: every trainable
parameter moved and every frozen one is bit-identical (full fine-tuning with the vision tower
frozen; LoRA, where only the adapters train)."""

import pytest
import torch

import adamllm_trainer.train as train_module
from conftest import chat_row


@pytest.mark.parametrize("finetuning", ["full", "lora"])
def test_trainable_parameters_change_and_frozen_ones_do_not(make_config, monkeypatch, finetuning):
    rows = [chat_row(f"Question {i}?", f"Answer number {i}.") for i in range(4)]
    cfg = make_config(rows, finetuning=finetuning, device="cpu", precision="fp32", learning_rate=1e-3, epochs=1, max_steps=2,
                      per_device_batch_size=2, gradient_accumulation_steps=1, warmup_ratio=0, dataloader_workers=0,
                      tokenize_workers=1, gradient_checkpointing=False, save_steps=1000, export={"hf": False})
    before, trainable, models = {}, {}, []
    load_model = train_module.load_model

    def spy(cfg, bf16):  # the model as the loop gets it, before any step
        model = load_model(cfg, bf16)
        for name, p in model.named_parameters():
            before[name] = p.detach().clone()
            trainable[name] = p.requires_grad
        models.append(model)
        return model

    monkeypatch.setattr(train_module, "load_model", spy)
    _, step, *_ = train_module.train(cfg)
    assert step == 2
    after = dict(models[0].named_parameters())
    moved = {name for name in before if not torch.equal(before[name], after[name].detach())}
    assert {n for n, t in trainable.items() if t} == moved & {n for n, t in trainable.items() if t}, "a trainable parameter did not move"
    assert not {n for n, t in trainable.items() if not t} & moved, "a frozen parameter moved"
    assert any(n.startswith("model.visual.") or ".visual." in n for n, t in trainable.items() if not t), "the vision tower is frozen"
    if finetuning == "lora":
        assert all("lora_" in n for n, t in trainable.items() if t)
