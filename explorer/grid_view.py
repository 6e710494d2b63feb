"""The Hyperparameter search page's session side: the values typed on the page → a SearchSpec, and the search
itself running in a background thread of the session's own, published as immutable snapshots.

Plain Python, no Streamlit (like holder.py): `GridSession`'s thread drives `mlp_lm.grid_runner.GridRun` — the trials
run in joblib's worker processes — and after every finished trial swaps in a new frozen `GridSnapshot`; the page
only reads `snapshot()`. One per browser session (explorer.grid_session.get_grid), so a search never blocks the page
or another session, and closing the tab stops it.
"""
from __future__ import annotations

import os
import threading
import time
import weakref
from dataclasses import dataclass, field, replace

from mlp_lm.config import INITS, OPTIMIZERS
from mlp_lm.errors import ConfigError
from mlp_lm.grid import Range, SearchSpec, base_settings, parse_values
from mlp_lm.grid_runner import GridRun, default_jobs
from mlp_lm.schedule import SCHEDULES
from mlp_lm.trials import TrialResult

from .settings import LABELS, RANGES, eval_interval

# The settings the page can search, in the order it shows them; choice settings get a multiselect.
PAGE_PARAMS = ("block_size", "emb_dim", "hidden", "init", "steps", "batch_size", "optimizer", "lr", "lr2",
               "decay_step", "schedule", "weight_decay", "seed")
CHOICES = {"init": INITS, "optimizer": OPTIMIZERS, "schedule": SCHEDULES}
DASK_ENV = "MLP_LM_DASK_SCHEDULER"  # set by whoever starts the server: the Dask cluster the page may offer
# The lecture's scaling experiment, as page values: its recipe (200,000 SGD steps, 0.1 → 0.01 half way, batch 32).
SCALING_VALUES = {"block_size": "3", "emb_dim": "2, 10", "hidden": "100, 200, 300", "init": ["lecture"],
                  "steps": "200000", "batch_size": "32", "optimizer": ["sgd"], "lr": "0.1", "lr2": "0.01",
                  "decay_step": "none", "schedule": ["step"], "weight_decay": "0", "seed": ""}
THREAD_NAME = "mlp_lm-grid"
OPEN_GRIDS: "weakref.WeakSet[GridSession]" = weakref.WeakSet()  # for tests and diagnostics: sessions not closed


def build_spec(page: dict, sidebar: dict, random: int | None = None, draw_seed: int = 0) -> SearchSpec:
    """Page values (text like '100, 200' or a list of choices; blank = the sidebar's) → SearchSpec.

    Every value is held to the app's ranges (settings.RANGES), so a shared server trains nothing the sidebar could
    not; raises ConfigError with one line for a bad value.
    """
    base = {k: sidebar[k] for k in PAGE_PARAMS if k in sidebar}
    values = {}
    for name in PAGE_PARAMS:
        raw = page.get(name)
        text = ", ".join(map(str, raw)) if isinstance(raw, (list, tuple)) else str(raw or "").strip()
        if not text:
            continue
        v = parse_values(name, text)
        for x in (v.lo, v.hi) if not isinstance(v, tuple) else v:
            _in_range(name, x)
        if isinstance(v, tuple) and len(v) == 1:
            base[name] = v[0]
        else:
            values[name] = v
    if str(page.get("steps") or "").strip() and not str(page.get("decay_step") or "").strip():
        base["decay_step"] = None  # steps set here: each trial decays half way through its own run (as the lecture)
    steps = values.get("steps", (base.get("steps", 200_000),))
    base["eval_interval"] = eval_interval(int(steps.hi if isinstance(steps, Range) else max(steps)), "auto")
    return SearchSpec(values, base=base_settings(base), random=random, draw_seed=draw_seed)


def _in_range(name: str, v) -> None:
    lo, hi = RANGES.get(name, (None, None))
    if name == "batch_size":
        lo, hi = 1, 4096
    if name == "decay_step":
        lo, hi = 0, RANGES["steps"][1]
    if lo is not None and v is not None and not lo <= v <= hi:
        raise ConfigError(f"{LABELS.get(name, name)}: {v:g} is outside {lo:g}–{hi:g}, the app's range")


@dataclass(frozen=True)
class GridSnapshot:
    status: str = "idle"                # idle | running | stopping | finished | stopped | error
    sweep: str | None = None            # the search's id (its trials' RunInfo.sweep)
    total: int = 0                      # trials in the search
    varied: tuple[str, ...] = ()        # the settings that differ between trials
    results: tuple[TrialResult, ...] = field(default_factory=tuple)  # in the order they finished
    started: float = 0.0                # time.monotonic() at Run
    ended: float | None = None
    jobs: int = 0
    where: str = ""                     # "2 worker processes on this machine" / "the Dask cluster at …"
    message: str = ""                   # why a search could not run

    @property
    def running(self) -> bool:
        return self.status in ("running", "stopping")

    @property
    def elapsed(self) -> float:
        return ((self.ended or time.monotonic()) - self.started) if self.started else 0.0


class GridSession:
    """One session's search: at most one at a time, in a daemon thread; `snapshot()` is safe from any thread."""

    def __init__(self):
        self._snap = GridSnapshot()
        self._run: GridRun | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.closed = False
        OPEN_GRIDS.add(self)

    def snapshot(self) -> GridSnapshot:
        return self._snap

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, spec: SearchSpec, words, data_name: str, *, runs_dir=None, jobs: int | None = None,
              backend: str = "loky", scheduler: str | None = None, worker_idle: float | None = None,
              data_default: bool = False) -> None:
        """Start a search in the background. Bad settings raise MLPLMError here, before anything runs."""
        with self._lock:
            if self.closed or self.alive:
                return
            kw = {} if worker_idle is None else {"worker_idle": worker_idle}
            run = GridRun(spec, words, data_name, runs_dir=runs_dir, jobs=jobs or default_jobs(), backend=backend,
                          scheduler=scheduler, data_default=data_default, **kw)
            n = min(run.jobs, len(run.trials))
            where = (f"the Dask cluster at {scheduler}" if backend == "dask"
                     else f"{n} worker process{'es' if n > 1 else ''} on this machine" if n > 1 else "this process")
            self._run = run
            self._snap = GridSnapshot("running", run.sweep, len(run.trials), spec.varied, (), time.monotonic(),
                                      None, run.jobs, where)
            self._thread = threading.Thread(target=self._drive, args=(run,), name=THREAD_NAME, daemon=True)
            self._thread.start()

    def _drive(self, run: GridRun) -> None:
        try:
            for r in run.results():
                self._snap = replace(self._snap, results=self._snap.results + (r,))
            status, message = ("stopped" if run.stopped else "finished"), ""
        except Exception as e:  # e.g. the Dask scheduler cannot be reached: shown on the page, never raised
            status, message = "error", str(e)
        self._snap = replace(self._snap, status=status, ended=time.monotonic(), message=message)

    def stop(self) -> None:
        """Stop the search: running trials end at their next poll (kept as "stopped"), the rest are cancelled."""
        run = self._run
        if run is not None and self.alive:
            run.stop()
            if self._snap.status == "running":
                self._snap = replace(self._snap, status="stopping")

    def wait(self, timeout: float | None = None) -> GridSnapshot:
        if self._thread is not None:
            self._thread.join(timeout)
        return self._snap

    def close(self, timeout: float = 10.0) -> None:
        """Stop for good (the session ended). Safe from any thread; makes no Streamlit call."""
        self.closed = True
        OPEN_GRIDS.discard(self)
        self.stop()
        self.wait(timeout)


def dask_scheduler() -> str | None:
    """The Dask scheduler the server was started with ($MLP_LM_DASK_SCHEDULER), if any. A page never takes an
    address from a user: a client unpickles what a scheduler sends back."""
    return os.environ.get(DASK_ENV) or None
