"""What the trainer publishes besides the loss: health at init and at the last evaluation (whatever the time budget),
and an embedding timeline that sees the first steps, where the picture forms."""
import numpy as np

from mlp_lm.config import TrainConfig
from mlp_lm.diagnostics import health
from mlp_lm.model import ModelConfig, init_params
from mlp_lm.trainer import Trainer


def test_health_at_init_and_at_the_last_evaluation(small_ds, monkeypatch):
    monkeypatch.setattr("mlp_lm.instruments.health_due", lambda *a, **k: False)  # every periodic one over budget
    mc = ModelConfig(vocab_size=len(small_ds.vocab), hidden=16)
    t = Trainer(small_ds, mc, TrainConfig(steps=2_000, eval_interval=500))
    s = t.run()
    assert [p.step for p in s.health_points] == [0, 2_000] and s.health.step == 2_000
    want = health(s.params, *t._inst.batch, float(s.train_config.lr2), "sgd")
    assert abs(s.health.saturated - want.saturated) < 1e-9
    assert s.initial_loss.loss > 5 and s.initial_loss.reading.startswith("confidently wrong")  # hidden 16: loss ≈ 8


def test_the_timeline_sees_the_first_steps(small_ds):
    mc = ModelConfig(vocab_size=len(small_ds.vocab), emb_dim=2, hidden=32)
    s = Trainer(small_ds, mc, TrainConfig(steps=50_000, eval_interval=0)).run()
    steps, tables = s.timeline
    assert steps[0] == 0 and steps[-1] <= 50_000 and len(steps) == len(tables) <= 161
    assert (steps <= 1_000).sum() >= 8, steps[:20]  # the picture forms in the first thousand steps
    assert np.array_equal(tables[0], init_params(mc, TrainConfig().seed)["C"].numpy())


def test_pause_cuts_a_chunk_within_steps_and_the_run_stays_the_same(small_ds):
    """Pausing mid-chunk ends the engine's call within a step; the unused minibatch rows come first after Resume, so
    a run paused and resumed many times trains exactly as one left alone."""
    import time

    mc = ModelConfig(vocab_size=len(small_ds.vocab), hidden=64)
    cfg = TrainConfig(steps=30_000, eval_interval=0, optimizer="adam", lr=3e-3)
    alone = Trainer(small_ds, mc, cfg).run()
    t = Trainer(small_ds, mc, cfg)
    t.start()
    cuts = 0
    while not t.snapshot().done:
        time.sleep(0.013)
        t.pause()
        t0 = time.perf_counter()
        while t.snapshot().status != "paused" and not t.snapshot().done:
            time.sleep(0.001)
        cuts += time.perf_counter() - t0 < 0.05
        t.resume()
    t.wait()
    s = t.snapshot()
    assert s.status == "finished" and cuts > 3
    np.testing.assert_array_equal(s.losses, alone.losses)
    for k in s.params:
        np.testing.assert_array_equal(s.params[k].numpy(), alone.params[k].numpy())
