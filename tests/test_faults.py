"""Faults and concurrency in the core: rapid control cycles, many trainers at once, odd sizes, bounded memory."""
import random
import time

import numpy as np
import torch

from conftest import trainer_threads
from mlp_lm.config import TrainConfig
from mlp_lm.model import ModelConfig
from mlp_lm.trainer import STATUSES, Trainer


def small_model(ds, **kw):
    return ModelConfig(vocab_size=len(ds.vocab), block_size=ds.block_size, **{"emb_dim": 4, "hidden": 16, **kw})


def test_hundreds_of_random_control_calls(small_ds):
    """Start/Pause/Resume/Step/Stop/Reset in a random order, 400 calls: no exception, no leaked thread, sane state."""
    rng = random.Random(0)
    mc, tc = small_model(small_ds), TrainConfig(steps=30_000, eval_interval=5_000)
    t = Trainer(small_ds, mc, tc)
    made = [t]
    for i in range(400):
        op = rng.choice(["start", "pause", "resume", "step", "stop", "reset", "lr", "read"])
        if op == "reset":  # what the app's Reset does: stop the old trainer, make a new one
            t.stop()
            t = Trainer(small_ds, mc, tc)
            made.append(t)
        elif op == "step":
            t.step(rng.randint(1, 50))
        elif op == "lr":
            t.set_lr(rng.choice([0.01, 0.1, 0.2]))
        elif op == "read":
            s = t.snapshot()
            assert s.status in STATUSES and 0 <= s.step <= s.steps and len(s.losses) == len(s.loss_steps)
        else:
            getattr(t, op)()
        if rng.random() < 0.2:
            time.sleep(0.005)
    for tr in made:
        tr.stop()
    assert not trainer_threads()
    for tr in made:
        s = tr.snapshot()
        assert s.status in ("idle", "stopped", "finished"), s.status
        assert all(torch.isfinite(v).all() for v in s.params.values())
        assert len(s.losses) <= s.step and (s.step == 0 if s.status == "idle" else True)
        if s.status == "finished":
            assert s.step == s.steps


def test_many_trainers_at_once_are_isolated(small_ds):
    mc = small_model(small_ds)
    ts = [Trainer(small_ds, mc, TrainConfig(steps=2_000, seed=seed, eval_interval=0)) for seed in (1, 2, 1)]
    for t in ts:
        t.start()
    ends = [t.wait(30) for t in ts]
    assert all(s.status == "finished" for s in ends)
    assert np.array_equal(ends[0].losses, ends[2].losses)      # same seed, same run, even side by side
    assert not np.array_equal(ends[0].losses, ends[1].losses)  # another seed, another run


def test_readers_never_see_a_half_updated_model(small_ds):
    """Snapshots are copies: while training runs, a snapshot's parameters never change under the reader."""
    t = Trainer(small_ds, small_model(small_ds), TrainConfig(steps=10_000_000, eval_interval=0))
    t.start()
    end = time.time() + 1.0
    seen = 0
    while time.time() < end:
        s = t.snapshot()
        before = {k: v.clone() for k, v in s.params.items()}
        time.sleep(0.02)
        assert all(torch.equal(before[k], s.params[k]) for k in before)
        seen = max(seen, s.version)
    t.stop()
    assert seen > 3


def test_batch_larger_than_the_training_split(small_words):
    from mlp_lm.data import make_dataset

    ds = make_dataset(small_words[:20], 3)  # ~100 training examples
    s = Trainer(ds, small_model(ds), TrainConfig(steps=50, batch_size=4096)).run()
    assert s.status == "finished" and np.isfinite(s.evals[-1].dev)


def test_largest_model_the_app_allows_stays_sane(small_ds):
    """block 16 × emb 64 → 1,024 inputs, 1,024 hidden: a few steps run, memory for the parameters ~4 MB."""
    from mlp_lm.data import make_dataset

    ds = make_dataset(list(small_ds.words), 16)
    mc = ModelConfig(vocab_size=len(ds.vocab), block_size=16, emb_dim=64, hidden=1024)
    assert mc.n_params < 1_200_000
    s = Trainer(ds, mc, TrainConfig(steps=20, batch_size=256, eval_interval=0)).run()
    assert s.status == "finished" and np.all(np.isfinite(s.losses))
