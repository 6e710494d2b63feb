"""One trial of a hyperparameter search: what a worker process receives, what it runs, and what it sends back.

A `Trial` carries everything it needs as plain data — the names list, its settings, the seed, where the run store
and the search's stop flag are — so it runs the same in a loky worker on this machine or on a Dask worker elsewhere
(given a shared filesystem for the store). `run_trial` trains it with `mlp_lm.runs.train_run` (recorded in the
store with source "grid" and the search's id), polls the stop flag while it trains, and returns a `TrialResult` of
plain numbers and strings. It never raises: a trial that diverges or fails is a result with that status, so one bad
trial never stops the others.
"""
from __future__ import annotations

import functools
import math
import multiprocessing
import os
import signal
import socket
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

STATUSES = ("finished", "stopped", "diverged", "error", "cancelled")  # cancelled: stopped before it started


class StopFlag:
    """A search's cancel flag: a file, so every worker process (or cluster node sharing the folder) can see it."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def set(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    def is_set(self) -> bool:
        return self.path.exists()

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Trial:
    index: int               # position in the search (0-based), the order it was expanded in
    settings: dict           # the searched values of this trial, e.g. {"hidden": 200, "emb_dim": 10}
    config: dict             # every setting of the run (grid.configs turns it into ModelConfig + TrainConfig)
    words: tuple[str, ...]   # the names to train on, shipped with the trial
    data_name: str           # their display name ("names.txt (default)", an upload's file name, ...)
    runs_dir: str            # the run store's folder (on a cluster: a path every worker shares)
    sweep: str               # the search's id: groups its trials on the Runs page
    stop_path: str           # the search's StopFlag file
    name: str                # the run's display name
    data_default: bool = False  # the words are the default data/names.txt (the store keeps other lists itself)


@dataclass(frozen=True)
class TrialResult:
    index: int
    settings: dict
    status: str              # one of STATUSES
    dev_loss: float | None   # full dev split, at the run's last (good) parameters
    train_loss: float | None
    test_loss: float | None
    step: int                # steps trained
    seconds: float           # training time of the run (as the run store records it)
    wall_seconds: float      # the trial's whole time in its worker (data, kernel, training, evaluation, writes)
    run: str | None          # the run's id in the store (None if it never started)
    message: str             # why it diverged / failed; empty otherwise
    worker: str              # host:pid of the process that ran it

    @property
    def ok(self) -> bool:
        return self.status in ("finished", "stopped")

    def to_dict(self) -> dict:
        return asdict(self)


def _one_thread() -> None:
    """One torch thread and one BLAS thread in this process: two workers on two cores must not oversubscribe.

    Set and never restored: in a worker process that is the point; in-process (one job, or a threads-only Dask
    cluster) the project runs torch on one thread anyway.
    """
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    if multiprocessing.parent_process() is not None and threading.current_thread() is threading.main_thread():
        # A worker process of this search: Ctrl-C in the terminal reaches the whole process group, but stopping is
        # the parent's job (it sets the stop flag and every trial ends cleanly), so a worker ignores SIGINT.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@functools.lru_cache(maxsize=1)  # one dataset per worker: at most MAX_DATASET_BYTES held
def _dataset(words: tuple[str, ...], block_size: int):
    """The lecture's split of `words` for `block_size`, kept for the next trial in this worker: a search's trials share
    their data, and building names.txt's (~0.3 s) is a tenth of a short trial. Keyed on the names themselves."""
    from .data import make_dataset

    return make_dataset(list(words), block_size)


def clear_dataset_cache() -> None:
    _dataset.cache_clear()


def _finite(x) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def run_trial(trial: Trial) -> TrialResult:
    """Train one trial into the run store; a result for every outcome (it never raises)."""
    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    stop = StopFlag(trial.stop_path)

    def result(status, message="", snap=None, run=None, final=None):
        final = final or {}
        return TrialResult(trial.index, dict(trial.settings), status, _finite(final.get("dev")),
                           _finite(final.get("train")), _finite(final.get("test")), snap.step if snap else 0,
                           round(float(snap.elapsed), 3) if snap else 0.0, round(time.perf_counter() - t0, 3), run,
                           message, worker)

    if stop.is_set():
        return result("cancelled", "the search was stopped before this trial started")
    try:
        _one_thread()
        from .grid import configs
        from .runs import DataInfo, RunStore, train_run

        words = list(trial.words)
        ds = _dataset(tuple(trial.words), int(trial.config["block_size"]))
        model_cfg, train_cfg = configs(trial.config, len(ds.vocab))
        snap, run_id = train_run(ds, model_cfg, train_cfg, RunStore(trial.runs_dir), DataInfo.of(words, trial.data_name, default=trial.data_default),
                                 source="grid", sweep=trial.sweep, name=trial.name, words=words,
                                 should_stop=stop.is_set)
    except Exception as e:  # a failing trial is reported, never raised: the other trials go on
        return result("error", f"{type(e).__name__}: {e}")
    status = snap.status if snap.status in STATUSES else "error"
    return result(status, snap.message, snap, run_id, getattr(snap, "final", None))
