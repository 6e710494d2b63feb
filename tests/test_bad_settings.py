"""Bad training settings (tests/bad_inputs.py's SETTINGS_CASES) through the core Trainer, the CLI's flags and the
app's sidebar: each works, is refused in one clear line, or cannot be entered; and the CLI checks --out first.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bad_inputs import (DIVERGED_PREFIX, NAMES8, SETTINGS_CASES, SETTINGS_IDS, TEXT8, assert_one_error_line,  # noqa: E402
                        new_app, page_metric, peak_rss_mb, rss_mb, run_cli, the_holder, tiny_train_args, wait_for)
from mlp_lm import checkpoint as ck  # noqa: E402
from mlp_lm.config import TrainConfig  # noqa: E402
from mlp_lm.data import DEFAULT_DATA, load_words, make_dataset  # noqa: E402
from mlp_lm.errors import ConfigError  # noqa: E402
from mlp_lm.model import ModelConfig  # noqa: E402
from mlp_lm.trainer import Trainer  # noqa: E402

pytestmark = pytest.mark.usefixtures("warm_kernel")


@pytest.fixture(scope="module")
def words8():
    return list(NAMES8)


@pytest.mark.parametrize("case", SETTINGS_CASES, ids=SETTINGS_IDS)
def test_settings_core(case, words8):
    base = {"emb_dim": 2, "hidden": 8, "block_size": 3}
    block = case.model.get("block_size", 3)
    words = words8 if "largest" not in case.id else load_words(DEFAULT_DATA)[::10]  # a real-sized split
    ds = make_dataset(words, block)
    train = {"eval_interval": 0, "eval_train_rows": 1_000, **case.train}
    if case.outcome not in ("finished", "diverged"):
        with pytest.raises(ConfigError) as e:
            mc = ModelConfig(vocab_size=len(ds.vocab), **{**base, **case.model})
            Trainer(ds, mc, TrainConfig(**train))
        assert str(e.value) == case.outcome
        return
    mc = ModelConfig(vocab_size=len(ds.vocab), **{**base, **case.model})
    rss0 = rss_mb()
    t = Trainer(ds, mc, TrainConfig(**train))
    s = t.run()
    assert s.status == case.outcome, (s.status, s.message)
    assert all(torch.isfinite(v).all() for v in s.params.values()), "the kept parameters must be finite"
    assert np.all(np.isfinite(s.losses))
    if case.outcome == "diverged":
        assert s.message.startswith(DIVERGED_PREFIX) and "Lower the learning rate" in s.message
        assert s.step < case.train["steps"] and len(s.losses) == s.step
    else:
        assert s.step == case.train.get("steps", 0) and s.message == ""
    if case.id == "zero-steps":
        assert len(s.losses) == 0 and len(s.evals) == 1  # the untrained model is evaluated once
        assert all(torch.equal(s.params[k], t.params0[k]) for k in s.params)
    if case.id == "zero-learning-rate":
        assert all(torch.equal(s.params[k], t.params0[k]) for k in s.params), "lr 0 must not move the parameters"
    if "largest" in case.id:
        assert mc.n_params < 1_200_000
        assert peak_rss_mb() - rss0 < 1_000, "the largest model needed more than 1 GB"


@pytest.mark.parametrize("case", SETTINGS_CASES, ids=SETTINGS_IDS)
def test_settings_cli(case, tmp_path, capsys):
    data, out = tmp_path / "names.txt", tmp_path / "model.safetensors"
    data.write_text(TEXT8)
    args = ["train", "--data", data, "--emb-dim", "2", "--hidden", "8", "--eval-interval", "0", "--no-progress",
            "--out", out, "--json", *case.flags]
    code, stdout, err = run_cli(capsys, *args)
    assert "Traceback" not in stdout + err
    if case.outcome not in ("finished", "diverged"):
        assert_one_error_line(code, stdout, err, case.outcome)
        assert not out.exists()
        return
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["status"] == case.outcome
    saved = ck.load(out)  # whatever happened, the last good model is written
    assert saved.extra["status"] == case.outcome and saved.extra["step"] == result["steps"]
    assert all(torch.isfinite(v).all() for v in saved.params.values())
    if case.outcome == "diverged":
        assert code == 1
        (line,) = err.strip().splitlines()
        assert line.startswith(DIVERGED_PREFIX) and "kept the parameters of step" in line
    else:
        assert code == 0 and err.strip() == "", err


def test_settings_app_batch_larger_than_the_training_split(released_sessions):
    at = new_app(batch_size=4096, steps=20)
    at.switch_page("app_pages/data.py").run()
    at.text_area(key="data_paste").set_value(TEXT8).run()
    at.button(key="data_use_paste").click().run()
    assert page_metric(at, "Names") == "8"
    at.button(key="btn_start").click().run()
    s = wait_for(the_holder(), ("finished", "diverged", "error"))
    at.run()
    assert not at.exception and s.status == "finished" and s.train_config.batch_size == 4096
    assert s.step == 20 and np.isfinite(s.evals[-1].dev)


def test_settings_app_largest_model_steps_and_stays_small(released_sessions):
    rss0 = rss_mb()
    at = new_app(block_size=16, emb_dim=64, hidden=1024, step_n=10)
    at.button(key="btn_step").click().run()
    assert not at.exception, at.exception
    s = wait_for(the_holder(), ("paused", "error"))
    at.run()
    assert (s.status, s.step) == ("paused", 10)
    mc = s.model_config
    assert (mc.block_size, mc.emb_dim, mc.hidden) == (16, 64, 1024)
    assert page_metric(at, "Parameters") == f"{mc.n_params:,}"
    assert peak_rss_mb() - rss0 < 1_000, "the largest model (and its block-16 dataset) needed more than 1 GB"


@pytest.mark.parametrize("key, bad, lo, hi", [("steps", 0, 1, 5_000_000), ("lr", 0.0, 1e-6, 10.0),
                                              ("lr", 100.0, 1e-6, 10.0), ("lr", float("nan"), 1e-6, 10.0),
                                              ("lr", -1.0, 1e-6, 10.0)],
                         ids=["steps-0", "lr-0", "lr-100", "lr-nan", "lr-negative"])
def test_settings_app_out_of_range_values_cannot_reach_a_run(key, bad, lo, hi, released_sessions):
    """The sidebar's inputs only take values in range (the browser enforces it; Streamlit resets anything else to
    the input's minimum), so a run never sees steps 0, lr 0, lr 100 or nan; the run starts with a valid setting."""
    at = new_app(steps=50)
    at.number_input(key=key).set_value(bad).run()
    assert not at.exception, at.exception
    got = at.number_input(key=key).value
    assert lo <= got <= hi, got
    at.button(key="btn_start").click().run()
    assert not at.exception and not at.sidebar.error
    s = wait_for(the_holder(), ("finished", "diverged", "error"))
    assert s.status in ("finished", "diverged") and lo <= getattr(s.train_config, key) <= hi


def test_settings_app_diverging_run_keeps_last_good_model_and_the_app_stays_usable(released_sessions):
    """lr at the sidebar's maximum (10) with Adam diverges: a status and a message, finite parameters kept,
    every page still draws, and lowering the learning rate then Start trains normally."""
    at = new_app(steps=5_000, optimizer="adam", init="scaled", lr=10.0)
    at.button(key="btn_start").click().run()
    h = the_holder()
    s = wait_for(h, ("diverged", "finished", "error"))
    at.run()
    assert s.status == "diverged", s.status
    assert s.message.startswith(DIVERGED_PREFIX)
    assert all(torch.isfinite(v).all() for v in s.params.values()) and np.all(np.isfinite(s.losses))
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and "diverged" in errors[0] and "Lower the learning rate" in errors[0]
    for page in ("app_pages/embeddings.py", "app_pages/sampler.py", "app_pages/data.py", "app_pages/train.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    at.number_input(key="lr").set_value(0.01).run()
    at.button(key="btn_start").click().run()
    assert not at.exception
    end = time.time() + 10
    while (h.snapshot().status == "diverged" or h.snapshot().step == 0) and time.time() < end:
        time.sleep(0.02)
    assert h.snapshot().status in ("running", "finished") and h.snapshot().step > 0
    assert h.snapshot().train_config.lr == pytest.approx(0.01)
    h.stop()


# ============================================================================================== --out is checked first

def test_cli_train_into_a_missing_runs_folder_keeps_the_model(tmp_path, capsys):
    data, out = tmp_path / "names.txt", tmp_path / "runs" / "model.safetensors"
    data.write_text(TEXT8)
    code, stdout, err = run_cli(capsys, *tiny_train_args(data, out))
    assert code == 0 and out.exists(), err


def test_cli_train_refuses_an_unwritable_out_before_training(tmp_path, capsys, monkeypatch):
    data = tmp_path / "names.txt"
    data.write_text(TEXT8)
    started = []
    monkeypatch.setattr(Trainer, "run", lambda self: started.append(1) or pytest.fail("trained before checking --out"))
    code, stdout, err = run_cli(capsys, *tiny_train_args(data, tmp_path))  # --out is a folder
    assert code == 2 and not started and err.startswith("error:"), err
