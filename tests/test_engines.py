"""No cold start: a run on a machine without the compiled kernel trains at once on the reference engine, then hands
its parameters and optimiser state to the fused kernel and carries on as the reference engine would have."""
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mlp_lm import engines
from mlp_lm.config import TrainConfig
from mlp_lm.model import ModelConfig, init_params
from mlp_lm.reference import ReferenceEngine
from mlp_lm.trainer import Trainer

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("opt", ["sgd", "adam", "adamw"])
def test_hand_over_continues_the_reference_run(small_ds, opt):
    mc = ModelConfig(vocab_size=len(small_ds.vocab), hidden=24)
    cfg = TrainConfig(optimizer=opt, lr=0.05 if opt == "sgd" else 3e-3, weight_decay=0.01, batch_size=16)
    g = torch.Generator().manual_seed(5)
    idx = torch.randint(0, len(small_ds.Ytr), (60, 16), generator=g)
    lrs = np.full(60, cfg.lr)
    whole = ReferenceEngine(init_params(mc, 3), small_ds.Xtr, small_ds.Ytr, cfg)
    want = whole.run(idx, lrs)
    first = ReferenceEngine(init_params(mc, 3), small_ds.Xtr, small_ds.Ytr, cfg)
    got = list(first.run(idx[:25], lrs[:25]))
    fast = engines.to_fast(first, small_ds.Xtr, small_ds.Ytr, cfg)
    assert fast.t == (25 if opt != "sgd" else 0)
    got += list(fast.run(idx[25:], lrs[25:]))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    for k, v in whole.params().items():
        np.testing.assert_allclose(fast.params()[k].numpy(), v.numpy(), rtol=1e-4, atol=1e-5, err_msg=k)


def test_hand_over_before_any_step(small_ds):
    mc = ModelConfig(vocab_size=len(small_ds.vocab), hidden=8)
    cfg = TrainConfig(optimizer="adam")
    fast = engines.to_fast(ReferenceEngine(init_params(mc, 1), small_ds.Xtr, small_ds.Ytr, cfg), small_ds.Xtr,
                           small_ds.Ytr, cfg)
    assert fast.t == 0 and not fast.m.any()


def test_a_cold_trainer_starts_on_reference_then_switches(small_ds, monkeypatch):
    calls = []
    monkeypatch.setattr(engines, "kernel_cached", lambda: False)
    monkeypatch.setattr(engines, "start_warmup", lambda: calls.append("warmup"))
    monkeypatch.setattr(engines, "ready_to_hand_over", lambda: len(calls) > 6 or bool(calls.append("poll")))
    mc = ModelConfig(vocab_size=len(small_ds.vocab), hidden=16)
    seen = []
    cfg = TrainConfig(steps=3_000, optimizer="adam", lr=3e-3, eval_interval=0)
    t = Trainer(small_ds, mc, cfg)
    t.add_callback("on_chunk", lambda s: seen.append((s.step, s.engine)))
    s = t.run()
    assert calls[0] == "warmup" and s.status == "finished" and s.engine == "fast"
    names = [e for _, e in seen if e]
    assert names[0] == "reference (compiling the fast kernel)" and "fast" in names
    ref = Trainer(small_ds, mc, cfg.replace(engine="reference")).run()
    np.testing.assert_allclose(s.losses, ref.losses, rtol=1e-4, atol=1e-4)


def test_warmup_fills_an_empty_cache_and_a_run_hands_over(tmp_path):
    """The real thing, in a fresh process with an empty numba cache (NUMBA_CACHE_DIR)."""
    script = textwrap.dedent("""
        import json, time
        from mlp_lm import engines
        from mlp_lm.config import TrainConfig
        from mlp_lm.data import DEFAULT_DATA, load_words, make_dataset
        from mlp_lm.model import ModelConfig
        from mlp_lm.trainer import Trainer
        assert not engines.kernel_cached()
        ds = make_dataset(load_words(DEFAULT_DATA)[::20], 3)
        seen = []
        t = Trainer(ds, ModelConfig(hidden=16), TrainConfig(steps=10**8, eval_interval=0))
        t.add_callback("on_chunk", lambda s: s.engine and seen.append(s.engine))
        t.start()
        end = time.time() + 240
        while time.time() < end and (not seen or seen[-1] != "fast"):
            time.sleep(0.1)
        t.stop()
        print(json.dumps({"engines": sorted(set(seen)), "cached": engines.kernel_cached(), "step": t.snapshot().step}))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    import json

    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["cached"] and res["engines"] == ["fast", "reference (compiling the fast kernel)"] and res["step"] > 0


def test_callers_at_the_same_moment_start_one_warm_up(monkeypatch):
    """The server's start-up thread (explorer/server_start.py) and a session's first run may ask at once."""
    started = []

    class SlowPopen:  # starting a process takes a few ms: long enough for another thread to ask meanwhile
        def __init__(self, *args, **kwargs):
            time.sleep(0.1)
            started.append(self)

        def poll(self):
            return None

    monkeypatch.setattr(engines.subprocess, "Popen", SlowPopen)
    monkeypatch.setattr(engines, "_warmup", None)
    threads = [threading.Thread(target=engines.start_warmup) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(started) == 1 and engines.start_warmup() is started[0]


def test_a_run_started_while_the_warm_up_runs_does_not_ask_numba(small_ds, monkeypatch):
    """The first Start on a server whose warm-up is still working: reference at once, no cache check (numba import)."""
    asked = []
    monkeypatch.setattr(engines, "warmup_state", lambda: "running")
    monkeypatch.setattr(engines, "kernel_cached", lambda: asked.append(1) or True)
    monkeypatch.setattr(engines, "start_warmup", lambda: None)
    mc = ModelConfig(vocab_size=len(small_ds.vocab), hidden=16)
    engine, hand_over = engines.first_engine(init_params(mc, 1), small_ds.Xtr, small_ds.Ytr, TrainConfig())
    assert isinstance(engine, ReferenceEngine) and hand_over and asked == []
    monkeypatch.setattr(engines, "warmup_state", lambda: "done")
    engine, hand_over = engines.first_engine(init_params(mc, 1), small_ds.Xtr, small_ds.Ytr, TrainConfig())
    assert not isinstance(engine, ReferenceEngine) and not hand_over and asked == [1]
