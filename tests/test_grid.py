"""Hyperparameter search (mlp_lm.grid, grid_runner, trials, grid_table, cli_grid): the grid and the random draws,
trials in loky worker processes and on an in-process Dask cluster, Stop, failing trials, the CLI.

Tiny models on a twentieth of names.txt for a few hundred steps; every run goes to a temporary store.
"""
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from mlp_lm.errors import ConfigError
from mlp_lm.grid import MAX_TRIALS, SCALING, Range, SearchSpec, lecture_base, parse_values
from mlp_lm.grid_runner import GridRun, stop_flag_path
from mlp_lm.grid_table import csv_text, rows
from mlp_lm.runs import RUNS_ENV, RunStore
from mlp_lm.trials import Trial, run_trial

ROOT = Path(__file__).resolve().parent.parent
TINY = lecture_base() | {"steps": 300, "batch_size": 32, "eval_interval": 0, "decay_step": None}
FOUR = {"hidden": (8, 16), "emb_dim": (2, 4)}


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    d = tmp_path / "runs"
    monkeypatch.setenv(RUNS_ENV, str(d))  # nothing may land in the repository's runs/
    return d


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("grid_runs")


@pytest.fixture(scope="module")
def loky_results(small_words, store_dir):
    run = GridRun(SearchSpec(FOUR, base=TINY), small_words, "small", runs_dir=store_dir, jobs=2, worker_idle=30)
    return run, list(run.results())


# ------------------------------------------------------------------------------------------------ the search spec

def test_grid_expands_every_combination_in_order_with_the_base():
    spec = SearchSpec({"hidden": (100, 200, 300), "emb_dim": (2, 10)}, base=TINY)
    trials = spec.expand()
    assert [(t["hidden"], t["emb_dim"]) for t in trials] == [(h, e) for h in (100, 200, 300) for e in (2, 10)]
    assert all(t["steps"] == 300 and t["optimizer"] == "sgd" and t["block_size"] == 3 for t in trials)
    assert spec.varied == ("hidden", "emb_dim") and spec.n_trials == 6
    assert SCALING.n_trials == 6 and SCALING.base["block_size"] == 3 and SCALING.base["steps"] == 200_000


def test_parse_values_and_bad_input_is_one_line():
    assert parse_values("hidden", "100, 200,300") == (100, 200, 300)
    assert parse_values("lr", "1e-3:1e-1") == Range(1e-3, 1e-1)
    assert parse_values("optimizer", "sgd,adam") == ("sgd", "adam")
    assert parse_values("steps", "20_000,2e4") == (20_000,)  # the same value twice is one trial
    assert parse_values("decay_step", "none") == (None,)
    for name, text, msg in [("hidden", "abc", "not a number"), ("hidden", "1.5", "whole number"),
                            ("hidden", "100,,200", "comma"), ("colour", "red", "cannot be searched"),
                            ("lr", "1:0.1", "low < high")]:
        with pytest.raises(ConfigError, match=msg):
            parse_values(name, text)
    for values, kw, msg in [({"hidden": (0, 10)}, {}, "hidden must be"), ({"optimizer": ("sgd", "lion")}, {}, "optimizer"),
                            ({"lr": Range(1e-3, 1)}, {}, "needs random draws"),
                            ({"hidden": (10, 20)}, {"random": 3}, "only 2 combination"),
                            ({"hidden": tuple(range(1, 200))}, {}, f"at most {MAX_TRIALS}")]:
        with pytest.raises(ConfigError, match=msg):
            SearchSpec(values, base=TINY, **kw).expand()


def test_random_draws_are_reproducible_per_seed():
    values = {"lr": Range(1e-3, 1e-1), "hidden": (50, 100, 200), "weight_decay": Range(0.0, 0.1),
              "batch_size": Range(16, 256)}
    a = SearchSpec(values, base=TINY, random=12, draw_seed=7).expand()
    b = SearchSpec(values, base=TINY, random=12, draw_seed=7).expand()
    c = SearchSpec(values, base=TINY, random=12, draw_seed=8).expand()
    assert a == b and a != c and len(a) == 12
    assert all(1e-3 <= t["lr"] <= 1e-1 and t["hidden"] in (50, 100, 200) and 16 <= t["batch_size"] <= 256 and
               isinstance(t["batch_size"], int) and 0 <= t["weight_decay"] <= 0.1 for t in a)
    assert len({t["lr"] for t in a}) > 6  # drawn, not one value repeated
    # lists only: drawn without replacement, so every draw is a different combination
    listed = SearchSpec({"hidden": (8, 16, 32), "emb_dim": (2, 4)}, base=TINY, random=6, draw_seed=1).expand()
    assert len({(t["hidden"], t["emb_dim"]) for t in listed}) == 6


# -------------------------------------------------------------------------------------------------- running trials

def test_a_four_trial_grid_returns_four_results_with_their_settings(loky_results, store_dir):
    run, results = loky_results
    assert len(results) == 4
    expected = [{"hidden": h, "emb_dim": e} for h in (8, 16) for e in (2, 4)]
    assert sorted((r.index, tuple(r.settings.items())) for r in results) == \
        [(i, tuple(s.items())) for i, s in enumerate(expected)]
    assert all(r.status == "finished" and r.step == 300 and math.isfinite(r.dev_loss) for r in results)
    assert len({r.worker for r in results}) == 2, "two jobs ran in two worker processes"
    store = RunStore(store_dir)
    for r in results:  # each trial is a run in the store, grouped by the search
        info = store.get(r.run)
        assert (info.source, info.sweep, info.status) == ("grid", run.sweep, "finished")
        assert info.settings["hidden"] == r.settings["hidden"] and info.settings["emb_dim"] == r.settings["emb_dim"]
    assert not stop_flag_path(store_dir, run.sweep).exists()


def test_results_equal_across_the_local_and_the_dask_backends(loky_results, small_words, store_dir):
    from distributed import Client

    _, local = loky_results
    with Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        run = GridRun(SearchSpec(FOUR, base=TINY), small_words, "small", runs_dir=store_dir, backend="dask",
                      client=client)
        remote = list(run.results())
    by_index = lambda rs: {r.index: (r.status, r.step, r.dev_loss, r.train_loss) for r in rs}
    assert by_index(remote) == by_index(local)
    assert RunStore(store_dir).get(remote[0].run).sweep == run.sweep


def test_a_failing_trial_is_reported_and_the_others_finish(small_words, runs_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("the raising trial asks for a CUDA device that this machine has")
    spec = SearchSpec({"lr": (0.1, 1e6), "device": ("cpu", "cuda")}, base=TINY)  # 1e6 diverges; cuda raises here
    results = {(r.settings["lr"], r.settings["device"]): r
               for r in GridRun(spec, small_words, "small", runs_dir=runs_dir, jobs=2, worker_idle=30).results()}
    assert results[(0.1, "cpu")].status == "finished"
    assert results[(1e6, "cpu")].status == "diverged" and "diverged" in results[(1e6, "cpu")].message
    for key in ((0.1, "cuda"), (1e6, "cuda")):
        assert results[key].status == "error" and "cuda" in results[key].message.lower()
    table = rows(results.values(), spec.varied)
    assert table[0]["status"] == "finished" and {r["status"] for r in table} == {"finished", "diverged", "error"}
    # and a trial whose data cannot be used fails as a result, not an exception
    bad = Trial(0, {}, dict(TINY, hidden=8, emb_dim=2, init="lecture"), ("a",), "one name", str(runs_dir), "s",
                str(runs_dir / ".s.stop"), "bad")
    assert run_trial(bad).status == "error"


def test_stop_ends_running_trials_cancels_the_rest_and_leaves_no_worker(small_words, runs_dir):
    spec = SearchSpec({"hidden": (8, 16, 24, 32)}, base=TINY | {"steps": 50_000_000})
    run = GridRun(spec, small_words, "small", runs_dir=runs_dir, jobs=2, worker_idle=1)
    results = []
    thread = threading.Thread(target=lambda: results.extend(run.results()))
    thread.start()
    store = RunStore(runs_dir)

    def running():
        return [r for r in store.list()[0] if r.sweep == run.sweep and r.status == "running" and r.step > 0]

    end = time.time() + 120
    while len(running()) < 2 and time.time() < end:
        time.sleep(0.2)
    assert len(running()) == 2, "two trials never started training"
    run.stop()
    thread.join(60)
    assert not thread.is_alive(), "the search did not end after Stop"
    assert sorted(r.status for r in results) == ["cancelled", "cancelled", "stopped", "stopped"]
    runs, notes = store.list()
    assert notes == [] and len(runs) == 2, "a cancelled trial left a run, or a run was left damaged"
    for r in results:
        if r.status == "stopped":
            assert 0 < r.step < 50_000_000 and r.dev_loss is not None
            assert store.get(r.run).status == "stopped"
            assert store.load_checkpoint(r.run).model_cfg.hidden == r.settings["hidden"]  # loads: not half-written
            assert store.losses(r.run)[0][-1] > 0
            assert not [f.name for f in store.path(r.run).iterdir() if f.name.endswith(".tmp")], "a write was cut off"
    assert not stop_flag_path(runs_dir, run.sweep).exists()
    pids = {int(r.worker.rsplit(":", 1)[1]) for r in results if r.worker}
    assert len(pids) == 2

    def alive(pid):
        try:
            return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    end = time.time() + 30
    while any(alive(p) for p in pids) and time.time() < end:
        time.sleep(0.2)
    assert not any(alive(p) for p in pids), "a worker process outlived the stopped search"


# ------------------------------------------------------------------------------------------------------ the table, CLI

def test_results_csv_reads_back_with_pandas(loky_results, tmp_path):
    import pandas as pd

    run, results = loky_results
    table = rows(results, run.spec.varied)
    assert [r["dev_loss"] for r in table] == sorted(r["dev_loss"] for r in table)  # best first
    path = tmp_path / "grid.csv"
    path.write_text(csv_text(table, run.spec.varied))
    df = pd.read_csv(path)
    assert list(df.columns[:3]) == ["trial", "hidden", "emb_dim"] and len(df) == 4
    assert df["dev_loss"].tolist() == pytest.approx([r["dev_loss"] for r in table])


def cli(*args, env_dir):
    return subprocess.run([sys.executable, "-m", "mlp_lm", "grid", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, RUNS_ENV: str(env_dir)}, timeout=300)


def test_cli_grid_json_and_csv(runs_dir, tmp_path):
    p = cli("--hidden", "8,16", "--emb-dim", "2", "--steps", "200", "--eval-interval", "0", "--jobs", "2", "--json",
            "--csv", str(tmp_path / "out.csv"), "--no-progress", env_dir=runs_dir)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert [t["settings"] for t in out["trials"]] == [{"hidden": 8}, {"hidden": 16}]
    assert all({"dev_loss", "train_loss", "seconds", "run"} <= set(t) and t["status"] == "finished" for t in out["trials"])
    assert {r.id for r in RunStore(runs_dir).list()[0]} == {t["run"] for t in out["trials"]}
    assert (tmp_path / "out.csv").read_text().startswith("trial,hidden,status,dev_loss")
    assert "dev_loss" in p.stdout.splitlines()[0]  # the table's header comes first


def test_cli_grid_bad_input_is_one_line(runs_dir):
    for args, msg in [(["--hidden", "abc"], "hidden: 'abc' is not a number"),
                      (["--lr", "0.1:1"], "needs random draws"),
                      (["--scheduler", "tcp://127.0.0.1:1"], "needs the dask backend")]:
        p = cli(*args, env_dir=runs_dir)
        assert p.returncode == 2 and p.stderr.strip().count("\n") == 0 and msg in p.stderr, p.stderr


EXITS = """
import sys, threading, time
from mlp_lm.data import DEFAULT_DATA, load_words
from mlp_lm.grid import SearchSpec, lecture_base
from mlp_lm.grid_runner import GridRun
from mlp_lm.runs import RunStore
run = GridRun(SearchSpec({"hidden": (8, 16, 24)}, base=lecture_base() | {"steps": 50_000_000, "eval_interval": 0}),
              load_words(DEFAULT_DATA)[::20], "small", runs_dir=sys.argv[1], jobs=2)
threading.Thread(target=lambda: list(run.results()), daemon=True).start()  # as the app's search thread
while len([r for r in RunStore(sys.argv[1]).list()[0] if r.status == "running" and r.step > 0]) < 2:
    time.sleep(0.2)
print("exiting", flush=True)
"""


def test_a_process_that_exits_mid_search_stops_its_trials_and_exits(runs_dir):
    """A server's SIGTERM or a script's end: without the exit hook, loky's own one waits for the running trials."""
    p = subprocess.Popen([sys.executable, "-c", EXITS, str(runs_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                         start_new_session=True)  # its own process group: a failure below ends its workers too
    assert p.stdout.readline().strip() == "exiting"
    try:
        assert p.wait(60) == 0
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        pytest.fail("the process did not exit with a search running")
    runs, notes = RunStore(runs_dir).list()
    assert notes == [] and sorted(r.status for r in runs) == ["stopped", "stopped"]
