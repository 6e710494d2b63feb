"""Faults at the app level, through streamlit.testing.v1.AppTest: a student hammering the sidebar's run controls.

The core-level version (400 random Trainer calls) is tests/test_faults.py; here the same abuse goes through the real
buttons, callbacks, Holder and reruns. After every click: no exception on the page, at most one live trainer thread
for the session, a consistent snapshot, and the click's own effect (Pause holds, Stop ends the thread, Reset gives a
fresh idle run). Learning-rate edits in between apply to the run at once; model edits are deferred and say so.
At the end, releasing the session (what a closing tab does) leaves no "mlp_lm-trainer" thread.
"""
import random
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conftest import trainer_threads  # noqa: E402
from explorer.holder import OPEN_HOLDERS  # noqa: E402
from mlp_lm.trainer import STATUSES  # noqa: E402

APP = str(ROOT / "explorer" / "main.py")  # the script each session runs (app.py serves it)
pytestmark = pytest.mark.usefixtures("warm_kernel", "released_sessions")
BUTTONS = ("btn_start", "btn_pause", "btn_resume", "btn_step", "btn_stop", "btn_reset")
CLICKS = 120





def the_holder():
    (h,) = list(OPEN_HOLDERS)
    return h


def new_small_app() -> AppTest:
    """The app with a tiny model: 2-d embeddings, 8 hidden units, small batches; Step runs 10 steps."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    at.slider(key="emb_dim").set_value(2)
    at.slider(key="hidden").set_value(8)
    at.number_input(key="steps").set_value(20_000)
    at.select_slider(key="batch_size").set_value(16)
    at.selectbox(key="step_n").set_value(10)
    at.run()
    assert not at.exception, at.exception
    return at


def check_snapshot(s) -> None:
    assert s.status in STATUSES, s.status
    assert 0 <= s.step <= s.steps, (s.step, s.steps)
    assert len(s.losses) == len(s.loss_steps) and len(s.losses) <= s.step
    assert all(torch.isfinite(v).all() for v in s.params.values()), "non-finite parameters published"


def test_random_clicks_on_the_run_controls_keep_the_app_consistent():
    at = new_small_app()
    h = the_holder()
    rng = random.Random(20_240_601)
    seen_status, seen_ops = set(), set()
    lr_edits = hidden_edits = 0
    t0 = time.perf_counter()
    for i in range(CLICKS):
        key = rng.choice(BUTTONS)
        before = h.trainer
        at.button(key=key).click().run()
        assert not at.exception, (i, key, at.exception)
        assert not at.sidebar.error, (i, key, [e.value for e in at.sidebar.error])  # no control_error
        assert len(trainer_threads()) <= 1, f"click {i} ({key}) left {len(trainer_threads())} trainer threads"
        seen_ops.add(key)
        t = h.trainer
        if t is None:  # only Pause/Resume/Stop before the first run do nothing
            assert key in ("btn_pause", "btn_resume", "btn_stop"), key
            continue
        s = t.snapshot()
        check_snapshot(s)
        seen_status.add(s.status)
        if key == "btn_reset":
            assert t is not before and not t.alive and (s.status, s.step) == ("idle", 0)
            assert before is None or not before.alive, "Reset left the old run's thread alive"
        elif key == "btn_stop":
            assert not t.alive, "Stop did not end the training thread"
            assert s.status in ("stopped", "finished", "diverged", "idle") or s.done, s.status
        elif key == "btn_pause":
            assert s.status != "running" or not t.alive, "Pause did not hold the run"
        elif key == "btn_step":
            assert s.status in ("paused", "finished"), s.status
        elif key == "btn_start":
            assert s.status in ("running", "paused", "finished", "idle"), s.status  # idle: the thread is starting
        # Between clicks, now and then: a live learning-rate edit (applies at once) or a model edit (deferred).
        r = rng.random()
        if r < 0.1:
            lr = rng.choice([0.01, 0.05, 0.2])
            at.number_input(key="lr").set_value(lr).run()
            assert not at.exception
            if not h.trainer.snapshot().done:
                assert h.trainer.cfg.lr == pytest.approx(lr), "a learning-rate edit did not reach the run"
            lr_edits += 1
        elif r < 0.15:
            hidden = rng.choice([8, 12, 16])
            run_hidden = h.trainer.model_cfg.hidden
            at.slider(key="hidden").set_value(hidden).run()
            assert not at.exception
            assert h.trainer.model_cfg.hidden == run_hidden, "a model edit changed the run in progress"
            warning = " ".join(w.value for w in at.sidebar.warning)
            if hidden != run_hidden:
                assert "next run" in warning and f"{run_hidden} → {hidden}" in warning, warning
            hidden_edits += 1
    elapsed = time.perf_counter() - t0
    assert seen_ops == set(BUTTONS)
    assert lr_edits and hidden_edits
    assert {"paused", "idle"} <= seen_status and seen_status & {"running", "finished", "stopped"}, seen_status
    # The state the last click left is consistent and the sidebar says so.
    at.run()
    assert not at.exception
    s = h.snapshot()
    if s is not None:
        check_snapshot(s)
        shown = " ".join(e.value for e in (*at.sidebar.info, *at.sidebar.warning, *at.sidebar.success))
        word = {"idle": "ready", "running": "running"}.get(s.status, s.status)
        assert word in shown or s.status in ("running", "idle"), (s.status, shown)
    assert elapsed < 60, f"{CLICKS} clicks took {elapsed:.0f} s"
    st.cache_resource.clear()
    assert not trainer_threads() and h.closed
    assert h.snapshot() is None or h.snapshot().status in STATUSES


def test_pause_and_stop_right_after_start_and_double_clicks():
    """The tightest races a mouse can make: every control clicked twice in a row, Pause/Stop right after Start."""
    at = new_small_app()
    h = the_holder()
    for key in ("btn_start", "btn_start", "btn_pause", "btn_pause", "btn_resume", "btn_resume", "btn_step",
                "btn_step", "btn_stop", "btn_stop", "btn_reset", "btn_reset", "btn_start", "btn_stop", "btn_start",
                "btn_reset", "btn_step", "btn_start", "btn_pause", "btn_stop"):
        at.button(key=key).click().run()
        assert not at.exception, (key, at.exception)
        assert len(trainer_threads()) <= 1
        check_snapshot(h.snapshot())
    assert h.snapshot().status in ("stopped", "finished") and not h.trainer.alive
    # and the app still trains afterwards: Start begins a new run that makes progress
    at.button(key="btn_start").click().run()
    end = time.time() + 10
    while h.snapshot().step == 0 and time.time() < end:
        time.sleep(0.05)
    assert h.snapshot().step > 0 and np.isfinite(h.snapshot().losses).all()
