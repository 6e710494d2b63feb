"""Running a search's trials in parallel through joblib: loky worker processes on this machine, or a Dask cluster.

    run = GridRun(spec, words, "names.txt (default)", jobs=2)              # loky: one worker process per job
    run = GridRun(spec, words, name, backend="dask", scheduler="tcp://10.0.0.5:8786")  # the same on a cluster
    for result in run.results():   # TrialResults as trials finish (joblib's return_as="generator_unordered")
        ...
    run.stop()                     # from any thread: see below

Each trial is independent and ships its data with it (mlp_lm.trials), so switching backends changes no code:
`joblib.parallel_config(backend="dask", client=...)` sends the same calls to a `dask.distributed` cluster
(`--backend dask` without an address starts a LocalCluster of `jobs` single-threaded worker processes).

Stop: the search's StopFlag (a file in the run store's folder, so every worker that shares the folder sees it) is
set; running trials see it at their next poll (~10× a second) and end as "stopped", still recorded in the store;
trials not yet started return "cancelled" at once, and none is dispatched after it. joblib's call then returns
normally — it is never aborted, since an abort kills the workers mid-write — and loky's idle workers exit
`worker_idle` seconds later. A worker that dies (or a lost cluster) ends the search with its remaining trials
reported as "error"; it never raises into the caller.
"""
from __future__ import annotations

import atexit
import os
import secrets
import threading
import weakref
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from .errors import ConfigError
from .grid import SearchSpec, trial_name
from .trials import StopFlag, Trial, TrialResult, clear_dataset_cache, run_trial

BACKENDS = ("loky", "dask")
WORKER_IDLE_SECONDS = 10.0  # loky's idle workers exit this long after their last trial (joblib's default is 300)
CONNECT_SECONDS = 10        # wait at most this long for a Dask scheduler to answer, and for its first worker
_LIVE: "weakref.WeakSet[GridRun]" = weakref.WeakSet()  # searches in flight in this process (stopped at its exit)
_EXIT_HOOK = [False]


def _stop_all() -> None:
    for run in list(_LIVE):
        run.stop()


def _stop_at_exit() -> None:
    """Stop this process's searches when it exits (a server's SIGTERM, the end of a script), so it exits promptly.

    The hook must run before loky's own exit handler, which waits for the running trials: both use the hook that
    runs before threads are joined (threading._register_atexit, as concurrent.futures does), called in reverse
    order, so this is registered after loky's (which loky registers when its first executor starts).
    """
    if not _EXIT_HOOK[0]:
        _EXIT_HOOK[0] = True
        register = getattr(threading, "_register_atexit", None)
        try:
            register(_stop_all) if register else atexit.register(_stop_all)
        except RuntimeError:  # the interpreter is already shutting down
            pass


def new_sweep_id() -> str:
    """'grid-20261202-041530-3fa9': UTC time + 4 random hex, made by the program like a run's id."""
    return datetime.now(timezone.utc).strftime("grid-%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def default_jobs() -> int:
    """Trials at a time by default: the CPU cores this process may use."""
    import joblib

    return max(1, joblib.cpu_count())


def stop_flag_path(runs_dir: str | os.PathLike, sweep: str) -> Path:
    """Where a search's stop flag lives: a dot-file in the run store's folder (not a run folder)."""
    return Path(runs_dir) / f".{sweep}.stop"


class GridRun:
    """One search: its trials, their parallel run, and its stop flag. Results stream from `results()`."""

    def __init__(self, spec: SearchSpec, words, data_name: str, *, runs_dir=None, jobs: int | None = None,
                 backend: str = "loky", scheduler: str | None = None, client=None,
                 worker_idle: float = WORKER_IDLE_SECONDS, data_default: bool = False):
        from .runs import default_runs_dir

        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if scheduler and backend != "dask":
            raise ConfigError("a scheduler address needs the dask backend (--backend dask)")
        if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= 1024):
            raise ConfigError(f"jobs must be a whole number from 1 to 1,024, got {jobs!r}")
        self.spec, self.backend, self.scheduler, self.client = spec, backend, scheduler, client
        self.jobs = jobs or default_jobs()
        self.worker_idle = float(worker_idle)
        self.sweep = new_sweep_id()
        self.runs_dir = Path(runs_dir) if runs_dir is not None else default_runs_dir()
        self.flag = StopFlag(stop_flag_path(self.runs_dir.resolve(), self.sweep))
        words = tuple(words)
        self.trials = [Trial(i, spec.settings_of(cfg), cfg, words, data_name, str(self.runs_dir.resolve()), self.sweep,
                             str(self.flag.path), trial_name(spec.settings_of(cfg)), data_default)
                       for i, cfg in enumerate(spec.expand())]
        self._stopped = threading.Event()
        self._over = threading.Event()  # results() has returned: a late stop() must not leave a flag file behind

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """End the search: running trials stop at their next poll, the rest are cancelled. Safe from any thread."""
        self._stopped.set()
        if not self._over.is_set():
            self.flag.set()

    def _dispatch(self):
        from joblib import delayed

        for t in self.trials:
            if self._stopped.is_set():
                return  # nothing is dispatched after Stop; results() reports the rest as cancelled
            yield delayed(run_trial)(t)

    def results(self) -> Iterator[TrialResult]:
        """Run the trials; yield each TrialResult as it finishes (any order), then one per trial never run."""
        from joblib import Parallel

        seen: set[int] = set()
        failure = ""
        try:
            with self._backend() as n_jobs:
                _LIVE.add(self)
                outputs = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1,
                                   pre_dispatch="n_jobs" if self.backend == "loky" else "2*n_jobs")(self._dispatch())
                _stop_at_exit()  # after the call: its executor has started, and loky's exit hook is registered
                for r in outputs:
                    seen.add(r.index)
                    yield r
        except ConfigError:
            raise
        except Exception as e:  # a worker died, the cluster went away: report, never raise
            failure = f"the search ended early: {type(e).__name__}: {e}".strip()
        finally:
            _LIVE.discard(self)
            self._over.set()
            self.flag.clear()
            clear_dataset_cache()  # one job ran the trials in this process: keep no dataset once it is over
        for t in self.trials:
            if t.index not in seen:
                status, msg = ("error", failure) if failure else ("cancelled", "the search was stopped before this trial started")
                yield TrialResult(t.index, dict(t.settings), status, None, None, None, 0, 0.0, 0.0, None, msg, "")

    @contextmanager
    def _backend(self):
        from joblib import parallel_config

        if self.backend == "loky":
            with parallel_config(backend="loky", inner_max_num_threads=1, idle_worker_timeout=self.worker_idle):
                yield min(self.jobs, max(len(self.trials), 1))
            return
        client, owned = self.client, []
        if client is None:
            client, owned = _dask_client(self.scheduler, self.jobs)
        try:
            _check_cluster(client, self.runs_dir.resolve() / f".{self.sweep}.probe")
            with parallel_config(backend="dask", client=client, wait_for_workers_timeout=CONNECT_SECONDS):
                yield -1  # the cluster's cores decide how many trials run at once
        finally:
            for thing in owned:
                thing.close()


def _check_cluster(client, marker: Path) -> None:
    """Refuse a cluster whose scheduler or workers cannot import mlp_lm (its tasks would never be read: the search
    would wait forever) or whose workers do not share the run store's folder (runs and the stop flag live there)."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()

    def probe():  # nested, so cloudpickle sends it by value: it runs where mlp_lm may be missing
        import importlib.util
        import os

        return importlib.util.find_spec("mlp_lm") is not None, os.path.exists(marker)

    try:
        try:
            on_scheduler = client.run_on_scheduler(probe)
            on_workers = client.run(probe)
        except Exception as e:  # noqa: BLE001 - a lost connection, a cluster that refuses run()
            raise ConfigError(f"the Dask cluster did not answer: {type(e).__name__}: {e}") from None
    finally:
        marker.unlink(missing_ok=True)
    fix = "start `dask scheduler` and `dask worker` with PYTHONPATH set to this repository (see README)"
    if not on_scheduler[0]:
        raise ConfigError(f"the Dask scheduler cannot import mlp_lm: {fix}")
    missing = sorted(w for w, (ok, _) in on_workers.items() if not ok)
    if missing:
        raise ConfigError(f"{len(missing)} Dask worker(s) cannot import mlp_lm ({missing[0]}, …): {fix}")
    apart = sorted(w for w, (_, shared) in on_workers.items() if not shared)
    if apart:
        raise ConfigError(f"{len(apart)} Dask worker(s) do not see the run store {marker.parent} ({apart[0]}, …): "
                          "give --runs-dir a folder every worker shares (e.g. on NFS) at the same path")


def _dask_client(scheduler: str | None, jobs: int):
    """A Client of the scheduler at `scheduler`, or of a new LocalCluster of `jobs` one-thread worker processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask and distributed are in requirements.txt
        raise ConfigError("the dask backend needs the packages dask and distributed (pip install -r requirements.txt)") from None
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {e}") from None
        return client, [client]
    cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster, set_as_default=False)
    return client, [client, cluster]
