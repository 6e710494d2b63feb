"""How many runs may train at once on one server: every session shares the machine's cores, so a classroom of tabs
pressing Start together must not starve each other or the server (its health endpoint, the pages' reruns).

The limit is `MLP_LM_MAX_RUNS_PER_SERVER` (environment, read at each admission), by default 2 per CPU core
(`os.cpu_count()`); a value that is not a whole number ≥ 1 is ignored. A run holds a slot while its trainer thread
trains (`mlp_lm.trainer.Trainer.training`): from Start / Step / Resume until it pauses (Pause, or the end of a
Step's steps), is stopped or replaced, finishes, diverges or fails, or its session ends (`Holder.close` stops it).
A paused run holds no slot — it uses no CPU — so Resume asks again and may be told the server is busy.

Plain Python, module state shared by every session of the server process (never in mlp_lm); thread-safe: the check
and the start happen under one lock, so two tabs pressing Start at the same moment cannot both take the last slot.
"""
from __future__ import annotations

import os
import threading
import weakref
from contextlib import contextmanager

from mlp_lm.errors import MLPLMError

ENV = "MLP_LM_MAX_RUNS_PER_SERVER"
RUNS_PER_CORE = 2

_LOCK = threading.RLock()
_RUNS: "weakref.WeakSet" = weakref.WeakSet()  # trainers admitted here; those still training hold the slots


class ServerBusy(MLPLMError):
    """Every slot is taken: nothing was started or changed."""

    def __init__(self, training: int, limit: int):
        self.training, self.limit = training, limit
        runs = f"{training} run{'s' if training != 1 else ''} {'are' if training != 1 else 'is'}"
        super().__init__(f"The server is busy: {runs} training (the limit is {limit}); try again when one finishes.")


def default_limit() -> int:
    return RUNS_PER_CORE * (os.cpu_count() or 1)


def limit() -> int:
    """The most runs that may train at once on this server (`MLP_LM_MAX_RUNS_PER_SERVER`, else 2 per core)."""
    raw = os.environ.get(ENV, "").strip()
    try:
        n = int(raw)
    except ValueError:
        return default_limit()
    return n if n >= 1 else default_limit()


def _count(exclude=None) -> int:
    return sum(1 for t in list(_RUNS) if t is not exclude and t.training)


def training() -> int:
    """How many admitted runs are training now (for the pages and the bench)."""
    with _LOCK:
        return _count()


@contextmanager
def admit(current=None):
    """Start a run inside this block: raises ServerBusy (before the block runs) if `limit()` runs other than
    `current` (the session's own trainer, which may already be training) are training. The block must call
    `track(trainer)` for the trainer it sets training; the lock is held throughout."""
    with _LOCK:
        n, cap = _count(current), limit()
        if n >= cap:
            raise ServerBusy(n, cap)
        yield


def track(trainer) -> None:
    """Count `trainer` against the limit while it trains (call it inside `admit`)."""
    with _LOCK:
        _RUNS.add(trainer)
