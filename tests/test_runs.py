"""The run store: a recorded run round-trips; a damaged or foreign folder is skipped with a note; rename, pin, delete
and the cap; a run killed mid-way (SIGKILL) still lists and loads; names are never paths."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from mlp_lm.config import TrainConfig
from mlp_lm.model import ModelConfig
from mlp_lm.runs import MAX_RUNS, DataInfo, RunError, RunStore, fingerprint, train_run

ROOT = Path(__file__).resolve().parent.parent


def small_run(store, ds, words, steps=300, **kw):
    mc = ModelConfig(vocab_size=len(ds.vocab), hidden=16)
    tc = TrainConfig(steps=steps, batch_size=32, eval_interval=100, optimizer="adam", lr=0.01, schedule="constant")
    return train_run(ds, mc, tc, store, DataInfo.of(words, "small"), words=words, **kw)


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


def test_round_trip(store, small_ds, small_words):
    snap, run_id = small_run(store, small_ds, list(small_ds.words))
    (info,), notes = store.list()
    assert notes == [] and info.id == run_id and info.status == "finished" and info.step == 300
    assert info.source == "cli" and info.model["hidden"] == 16 and info.train["optimizer"] == "adam"
    assert info.data == {"name": "small", "fingerprint": fingerprint(small_ds.words), "n_names": len(small_ds.words),
                         "default": False}
    assert info.final == {f"{k}_loss": pytest.approx(v) for k, v in snap.final.items()}
    assert set(snap.final) == {"train", "dev", "test"} and info.dev_loss == pytest.approx(snap.final["dev"])
    ck = store.load_checkpoint(run_id)
    for k, v in snap.params.items():
        assert torch.equal(ck.params[k], v)
    ev = store.evals(run_id)
    assert list(ev["step"]) == [e.step for e in snap.evals] == [100, 200, 300]
    assert np.allclose(ev["dev_loss"], [e.dev for e in snap.evals], rtol=1e-5)
    steps, losses = store.losses(run_id)
    assert np.array_equal(steps, snap.loss_steps) and np.allclose(losses, snap.losses, rtol=1e-5)
    assert store.words(run_id) == list(small_ds.words)
    assert info.settings["hidden"] == 16 and info.settings["decay_step"] == 150 and info.settings["data"] == "small"


def test_csv_files_are_what_pandas_reads(store, small_ds):
    pd = pytest.importorskip("pandas")
    _, run_id = small_run(store, small_ds, list(small_ds.words))
    ev = pd.read_csv(store.path(run_id) / "evals.csv")
    assert list(ev.columns) == ["step", "train_loss", "dev_loss"] and len(ev) == 3
    assert list(pd.read_csv(store.path(run_id) / "losses.csv").columns) == ["step", "loss"]


def test_damaged_and_foreign_folders_are_skipped_with_a_note(store, small_ds):
    _, good = small_run(store, small_ds, list(small_ds.words))
    root = store.root
    (root / "my notes").mkdir()                                         # foreign
    (root / "20200101-000000-abcd").mkdir()                             # no run.json
    (root / "20200101-000001-abcd").mkdir()
    (root / "20200101-000001-abcd" / "run.json").write_text("{ half a fil")  # damaged
    (root / "20200101-000002-abcd").mkdir()
    (root / "20200101-000002-abcd" / "run.json").write_text(json.dumps({"format": "mlp_lm.run", "status": 3}))
    (root / "20200101-000003-abcd").mkdir()
    (root / "20200101-000003-abcd" / "run.json").write_text("[" * 100_000)  # RecursionError in the decoder
    (root / good / ".run.json.x.tmp").write_text("half")                 # a write a killed process left
    (root / "stray.txt").write_text("x")                                # files at the top are ignored
    runs, notes = store.list()
    assert [r.id for r in runs] == [good]
    assert len(notes) == 5 and any("my notes" in n for n in notes), notes
    with pytest.raises(RunError, match="damaged"):
        store.get("20200101-000001-abcd")


def test_rename_pin_delete_and_resolve(store, small_ds):
    _, a = small_run(store, small_ds, list(small_ds.words), steps=10)
    time.sleep(1.1)  # ids carry the second
    _, b = small_run(store, small_ds, list(small_ds.words), steps=10)
    assert store.resolve("latest") == b and store.resolve(a[:17]) == a
    with pytest.raises(RunError, match="matches 2"):
        store.resolve(a[:8])
    with pytest.raises(RunError, match="no run"):
        store.resolve("1999")
    store.rename(a, "  hidden   300 \n ")
    store.pin(a)
    info = store.get(a)
    assert info.name == "hidden 300" and info.pinned
    with pytest.raises(RunError):
        store.rename(a, "   ")
    store.delete(b)
    assert [r.id for r in store.list()[0]] == [a]
    assert not any(p.name.startswith(".trash") for p in store.root.iterdir())


@pytest.mark.parametrize("bad", ["../etc", "a/b", "", "20261202-041530-3fa9/../../x", "..", "latest"])
def test_ids_are_never_paths(store, bad):
    with pytest.raises(RunError):
        store.path(bad)


def test_cap_keeps_the_newest_and_every_pinned_run(store, small_ds, monkeypatch):
    monkeypatch.setattr("mlp_lm.runs.LIVE_SECONDS", -1)
    ids = []
    for i in range(5):
        _, rid = small_run(store, small_ds, list(small_ds.words), steps=5)
        ids.append(rid)
        time.sleep(1.05)
        if i == 0:
            store.pin(rid)
    deleted = store.prune(keep=2)
    kept = {r.id for r in store.list()[0]}
    assert kept == {ids[0], ids[3], ids[4]} and set(deleted) == {ids[1], ids[2]}
    assert MAX_RUNS == 200


def test_a_write_failure_never_stops_training(tmp_path, small_ds):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = RunStore(blocker / "runs")  # cannot be created
    snap, _ = small_run(store, small_ds, list(small_ds.words), steps=50)
    assert snap.status == "finished" and snap.step == 50


def test_should_stop_ends_the_run_and_it_is_recorded(store, small_ds):
    calls = []
    snap, run_id = small_run(store, small_ds, list(small_ds.words), steps=10_000_000,
                             should_stop=lambda: calls.append(1) or len(calls) > 5)
    info = store.get(run_id)
    assert snap.status == "stopped" and info.status == "stopped" and 0 < info.step < 10_000_000
    assert info.final is not None and store.load_checkpoint(run_id)


def cli(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "mlp_lm", *map(str, args)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def wait_for_saved_run(root: Path, timeout=60) -> Path:
    end = time.time() + timeout
    while time.time() < end:
        for d in root.glob("2*"):
            try:
                raw = json.loads((d / "run.json").read_text())
            except (OSError, ValueError):
                continue
            if raw.get("step", 0) > 0 and (d / "model.safetensors").exists():
                return d
        time.sleep(0.1)
    raise AssertionError("no run was saved")


def test_a_killed_run_still_lists_and_loads(tmp_path):
    root = tmp_path / "runs"
    p = cli("train", "--hidden", "32", "--steps", "100000000", "--eval-interval", "0", "--runs-dir", root)
    try:
        d = wait_for_saved_run(root)
        time.sleep(0.5)
    finally:
        p.kill()
        p.communicate()
    (info,), notes = RunStore(root).list()
    assert notes == [] and info.status == "running" and info.step > 0
    ck = RunStore(root).load_checkpoint(info.id)
    assert ck.model_cfg.hidden == 32 and d.name == info.id
    assert len(RunStore(root).losses(info.id)[0]) > 0


def test_ctrl_c_saves_the_run_and_says_where(tmp_path):
    root = tmp_path / "runs"
    # Ctrl-C as a terminal sends it: a suite started in the background by a non-interactive shell inherits SIGINT
    # ignored, and Python then installs no KeyboardInterrupt handler (the CLI would rightly train on)
    p = cli("train", "--hidden", "32", "--steps", "100000000", "--eval-interval", "0", "--runs-dir", root,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for_saved_run(root)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "Traceback" not in err, err
    (info,), _ = RunStore(root).list()
    assert info.status == "stopped" and info.final is not None
    assert f"{info.id}/model.safetensors" in err and "interrupted at step" in err
    assert RunStore(root).load_checkpoint(info.id).params["C"].shape == (27, 10)


def run_cli(*args, timeout=120):
    p = cli(*args)
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def test_cli_train_records_the_run_and_runs_lists_it(tmp_path):
    root = tmp_path / "runs"
    code, out, err = run_cli("train", "--preset", "fast", "--steps", "300", "--hidden", "16", "--runs-dir", root,
                             "--name", "tiny", "--json")
    assert code == 0, err
    res = json.loads(out.strip().splitlines()[-1])
    assert res["run_dir"] == str(root / res["run_id"])
    code, out, err = run_cli("runs", "--runs-dir", root, "--json")
    (row,) = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and row["id"] == res["run_id"] and row["status"] == "finished" and row["steps"] == 300
    assert row["name"] == "tiny" and row["dev_loss"] == pytest.approx(res["dev_loss"], abs=1e-4)
    assert row["settings"]["hidden"] == 16 and row["source"] == "cli"
    code, out, err = run_cli("sample", "--run", res["run_id"][:15], "--runs-dir", root, "-n", "3", "--json")
    assert code == 0 and len(json.loads(out)["names"]) == 3, err
    code, out, err = run_cli("score", "--run", "latest", "--runs-dir", root, "emma")
    assert code == 0 and out.startswith("emma: nll"), err
    code, out, err = run_cli("sample", "--run", "nope", "--runs-dir", root)
    assert code == 2 and err.strip().splitlines() == [err.strip()] and "no run 'nope'" in err


def test_train_without_out_writes_only_the_store(tmp_path):
    code, out, err = run_cli("train", "--steps", "5", "--hidden", "8", "--runs-dir", tmp_path / "runs", "--json")
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]
    assert json.loads(out.strip().splitlines()[-1])["checkpoint"].startswith(str(tmp_path / "runs"))


@pytest.mark.parametrize("kind", ["fifo", "symlink", "proc", "dir"])
def test_a_bad_out_is_refused_before_training(tmp_path, kind):
    out = tmp_path / "m.safetensors"
    if kind == "fifo":
        os.mkfifo(out)
    elif kind == "symlink":
        (tmp_path / "target").write_text("keep me")
        out.symlink_to(tmp_path / "target")
    elif kind == "proc":
        out = Path("/proc/x/m.safetensors")
    else:
        out.mkdir()
    code, _, err = run_cli("train", "--steps", "100000000", "--out", out, "--runs-dir", tmp_path / "runs", timeout=60)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--out" in err, err
    assert not (tmp_path / "runs").exists()  # refused before anything was trained or recorded
    if kind == "fifo":
        assert out.is_fifo()
    if kind == "symlink":
        assert out.is_symlink() and (tmp_path / "target").read_text() == "keep me"


def test_an_app_session_records_its_runs(tmp_path, small_words):
    from explorer.holder import Holder, Names
    from explorer.settings import default_values

    h = Holder(Names.make(small_words, "small"), store=RunStore(tmp_path / "runs"))
    try:
        h.start({**default_values("Fast"), "steps": 200, "hidden": 16})
        h.trainer.wait(60)
        (info,), _ = h.store.list()
        assert info.source == "app" and info.status == "finished" and info.id == h.recorder.run_id
        assert h.store.words(info.id) == list(small_words) and info.data["name"] == "small"
    finally:
        h.close()


def test_final_losses_are_the_full_splits_and_a_replaced_run_skips_them(small_ds):
    from mlp_lm.model import evaluate
    from mlp_lm.trainer import Trainer

    mc = ModelConfig(vocab_size=len(small_ds.vocab), hidden=16)
    t = Trainer(small_ds, mc, TrainConfig(steps=50, eval_interval=0))
    s = t.run()
    assert s.final == {k: pytest.approx(evaluate(s.params, *small_ds.split(k))) for k in ("train", "dev", "test")}
    t = Trainer(small_ds, mc, TrainConfig(steps=100_000_000, eval_interval=0))
    t.start()
    while t.snapshot().step == 0:
        time.sleep(0.01)
    t.stop(measure=False)
    assert t.snapshot().status == "stopped" and t.snapshot().final is None


def test_a_live_learning_rate_change_is_recorded_apart_from_the_recipe(store, small_ds):
    from mlp_lm import script
    from mlp_lm.trainer import Trainer
    words = list(small_ds.words)
    mc = ModelConfig(vocab_size=len(small_ds.vocab), hidden=16)
    tc = TrainConfig(steps=400, batch_size=32, eval_interval=100, optimizer="sgd", lr=0.1, lr2=0.01, decay_step=200)
    t = Trainer(small_ds, mc, tc)
    rec = store.recorder(t, DataInfo.of(words, "small"), words=words)
    t.start(paused=True)

    def until(cond, timeout=30):
        end = time.time() + timeout
        while not cond() and time.time() < end:
            time.sleep(0.01)
        assert cond()
    t.step(100)
    until(lambda: t.snapshot().step == 100 and t.snapshot().status == "paused")
    t.set_lr(0.05, 0.005)
    t.resume()
    t.wait(60)
    info = store.get(rec.run_id)
    assert info.status == "finished" and info.step == 400
    assert (info.train["lr"], info.train["lr2"]) == (0.1, 0.01)  # the recipe the run started with
    assert info.lr_changes == ({"step": 100, "lr": 0.05, "lr2": 0.005},)
    text, cmd = script.for_run(store, rec.run_id)
    assert "--lr 0.1 " in cmd + " " and "changed by hand" in text.splitlines()[0]
    assert "at step 100 to 0.05" in script.lr_note(info)
