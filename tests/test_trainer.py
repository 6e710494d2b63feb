"""Trainer: learning, the thread's controls, divergence, live lr, bounded history, schedules."""
import os
import threading
import time

import numpy as np
import pytest
import torch

from mlp_lm.config import TrainConfig
from mlp_lm.errors import ConfigError
from mlp_lm.history import LossHistory
from mlp_lm.model import ModelConfig, evaluate, init_params
from mlp_lm.schedule import lr_schedule
from mlp_lm.trainer import Trainer


def small_model(ds, **kw):
    return ModelConfig(vocab_size=len(ds.vocab), block_size=ds.block_size, emb_dim=8, hidden=32, **kw)


def wait_for(pred, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_short_training_lowers_the_loss(small_ds, engine):
    mc = small_model(small_ds)
    before = evaluate(init_params(mc), small_ds.Xdev, small_ds.Ydev)
    s = Trainer(small_ds, mc, TrainConfig(steps=1500, batch_size=64, eval_interval=500, engine=engine)).run()
    assert s.status == "finished" and s.step == 1500
    assert [e.step for e in s.evals] == [500, 1000, 1500]
    assert s.evals[-1].dev < before - 2.0 and s.evals[-1].dev < 3.0
    assert len(s.losses) == 1500 and np.all(np.isfinite(s.losses))


def test_same_seed_same_run(small_ds):
    mc = small_model(small_ds)
    runs = [Trainer(small_ds, mc, TrainConfig(steps=300, eval_interval=0)).run() for _ in range(2)]
    assert np.array_equal(runs[0].losses, runs[1].losses)
    other = Trainer(small_ds, mc, TrainConfig(steps=300, eval_interval=0, seed=7)).run()
    assert not np.array_equal(runs[0].losses, other.losses)


def test_thread_start_pause_step_resume_stop(small_ds):
    t = Trainer(small_ds, small_model(small_ds), TrainConfig(steps=10_000_000, eval_interval=0))
    assert t.snapshot().status == "idle" and t.snapshot().step == 0
    t.start()
    assert wait_for(lambda: t.snapshot().step > 0)
    t.pause()
    assert wait_for(lambda: t.snapshot().status == "paused")
    held = t.snapshot().step
    time.sleep(0.2)
    assert t.snapshot().step == held and t.alive
    t.step(7)
    assert wait_for(lambda: t.snapshot().step == held + 7 and t.snapshot().status == "paused")
    t.resume()
    assert wait_for(lambda: t.snapshot().step > held + 7 and t.snapshot().status == "running")
    t0 = time.perf_counter()
    t.stop()
    assert time.perf_counter() - t0 < 1.0
    assert not t.alive and t.snapshot().status == "stopped"


def test_step_from_idle_then_stop_while_paused(small_ds):
    t = Trainer(small_ds, small_model(small_ds), TrainConfig(steps=1000, eval_interval=0))
    t.step(5)
    assert wait_for(lambda: t.snapshot().status == "paused" and t.snapshot().step == 5)
    t.stop()
    assert not t.alive and t.snapshot().status == "stopped" and t.snapshot().step == 5


def test_live_learning_rate_change(small_ds):
    t = Trainer(small_ds, small_model(small_ds), TrainConfig(steps=10_000_000, lr=0.1, schedule="constant", eval_interval=0))
    t.start(paused=True)
    assert wait_for(lambda: t.snapshot().status == "paused")
    t.set_lr(0.02)
    assert t.snapshot().lr == pytest.approx(0.02) and t.snapshot().train_config.lr == pytest.approx(0.02)
    t.resume()
    assert wait_for(lambda: t.snapshot().step > 50)
    assert t.snapshot().lr == pytest.approx(0.02)
    t.stop()


@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_lr_100_diverges_and_keeps_finite_parameters(small_ds, engine, optimizer):
    s = Trainer(small_ds, small_model(small_ds), TrainConfig(steps=5000, lr=100, optimizer=optimizer, engine=engine)).run()
    assert s.status == "diverged" and "learning rate" in s.message
    assert s.step < 5000
    assert all(torch.isfinite(v).all() for v in s.params.values())
    assert np.all(np.isfinite(s.losses))


def test_steps_zero_and_lr_zero(small_ds):
    mc = small_model(small_ds)
    s = Trainer(small_ds, mc, TrainConfig(steps=0)).run()
    assert s.status == "finished" and s.step == 0 and len(s.evals) == 1
    s = Trainer(small_ds, mc, TrainConfig(steps=50, lr=0.0, lr2=0.0)).run()
    p0 = init_params(mc)
    assert s.status == "finished" and all(torch.equal(s.params[k], p0[k]) for k in p0)


def test_error_in_engine_is_reported_not_raised(small_ds, monkeypatch):
    t = Trainer(small_ds, small_model(small_ds), TrainConfig(steps=100, engine="reference"))
    from mlp_lm import reference

    monkeypatch.setattr(reference.ReferenceEngine, "run", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    s = t.run()
    assert s.status == "error" and "boom" in s.message and s.params is not None


def test_bad_configs_raise_config_error(small_ds):
    with pytest.raises(ConfigError):
        TrainConfig(batch_size=0)
    with pytest.raises(ConfigError):
        TrainConfig(lr=float("nan"))
    with pytest.raises(ConfigError):
        Trainer(small_ds, ModelConfig(vocab_size=5), TrainConfig())
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA"):
            Trainer(small_ds, small_model(small_ds), TrainConfig(device="cuda"))


def test_history_is_bounded_and_averages():
    h = LossHistory(capacity=100)
    h.extend(0, np.arange(1000, dtype=float))
    steps, losses = h.arrays()
    assert len(steps) <= 101 and steps[0] == 0 and np.all(np.diff(steps) > 0)
    assert losses.mean() == pytest.approx(np.arange(1000).mean(), rel=0.02)
    h2 = LossHistory(capacity=100)
    for i in range(0, 1000, 7):  # chunking must not matter
        h2.extend(i, np.arange(i, min(i + 7, 1000), dtype=float))
    assert np.array_equal(h2.arrays()[1], losses)
    with pytest.raises(ValueError):
        losses[0] = 1.0  # snapshots hand out read-only arrays


def test_schedules():
    s = np.arange(200_000)
    step = lr_schedule("step", 0.1, 0.01, 100_000, 200_000, s)
    assert step[0] == 0.1 and step[99_999] == 0.1 and step[100_000] == 0.01
    cos = lr_schedule("cosine", 0.1, 0.01, 0, 200_000, s)
    assert cos[0] == pytest.approx(0.1) and cos[-1] == pytest.approx(0.01) and np.all(np.diff(cos) <= 0)
    one = lr_schedule("onecycle", 0.01, 0, 0, 1000, np.arange(1000))
    assert one.argmax() == 250 and one.max() == pytest.approx(0.01) and one[0] == pytest.approx(0.01 / 25)
    assert one[-1] < 1e-6


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread priorities are a Linux feature")
def test_the_training_thread_runs_at_the_asked_priority(small_ds):
    """Trainer.nice lowers the training thread's OS priority (the app's server threads come first), not the caller's."""
    seen = []
    t = Trainer(small_ds, small_model(small_ds), TrainConfig(steps=50, eval_interval=0))
    t.nice = 5
    t.add_callback("on_end", lambda s: seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    t.start()
    t.wait(60)
    assert seen == [min(mine + 5, 19)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
