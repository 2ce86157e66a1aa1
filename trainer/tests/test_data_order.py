"""The data order is a function of (seed, epoch) only: the step number is the data position, so
a resumed run (another process, another Plan) sees exactly the batches the first one would have."""

import numpy as np
import pytest

from adamllm_trainer.config import TrainConfig
from adamllm_trainer.loader import Plan


def plan(seed=42, group_by_length=True, n=37):
    cfg = TrainConfig(base_model="", train_file="", output_dir="", seed=seed, group_by_length=group_by_length,
                      per_device_batch_size=2, gradient_accumulation_steps=2)
    lengths = np.asarray([(i * 37) % 101 + 5 for i in range(n)], np.int64)
    return Plan(cfg, lengths, world=1)


def epoch_batches(p, epoch):
    return [p.batch(epoch * p.steps_per_epoch + k) for k in range(p.steps_per_epoch)]


@pytest.mark.parametrize("group_by_length", [True, False])
def test_same_seed_and_epoch_give_the_same_batches_in_a_fresh_plan(group_by_length):
    first, again = plan(group_by_length=group_by_length), plan(group_by_length=group_by_length)
    for epoch in (0, 1, 2):
        assert epoch_batches(first, epoch) == epoch_batches(again, epoch)


def test_a_step_read_out_of_order_gives_the_same_batch():
    p = plan()
    late = p.batch(2 * p.steps_per_epoch + 3)  # straight to epoch 2, as a resume does
    assert epoch_batches(plan(), 2)[3] == late


@pytest.mark.parametrize("group_by_length", [True, False])
def test_each_epoch_is_a_permutation_of_every_example(group_by_length):
    p = plan(group_by_length=group_by_length)
    for epoch in (0, 1):
        seen = [i for b in epoch_batches(p, epoch) for i in b]
        assert sorted(seen) == list(range(p.n))


def test_another_epoch_or_seed_gives_another_order():
    base = epoch_batches(plan(), 0)
    assert epoch_batches(plan(), 1) != base
    assert epoch_batches(plan(seed=7), 0) != base
