"""The trainer: runs an engine in chunks of steps, synchronously or in a daemon thread, and publishes snapshots.

    t = Trainer(dataset, model_cfg, train_cfg)
    t.run()                                   # blocking, in this thread
    t.start(); t.pause(); t.step(100); t.resume(); t.set_lr(0.05); t.stop()   # background thread
    s = t.snapshot()                          # an immutable Snapshot, safe to read from any thread

The seam between threads is `snapshot()`: after every chunk (≈ 50 ms) the training thread builds a new frozen
Snapshot (plain floats, read-only arrays, copied parameters) and swaps it in with one assignment; readers never see
tensors that are being trained and never block training. Callbacks (minGPT style) run in the training thread.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Callable

import numpy as np
import torch

from .config import TrainConfig
from .data import Dataset
from .errors import ConfigError
from . import engines
from .engines import make_engine, resolve_device  # noqa: F401  (re-exported: older code imports them here)
from .history import LossHistory
from .instruments import Instruments
from .model import ModelConfig, evaluate, init_params
from .reference import ReferenceEngine
from .schedule import lr_schedule
from .snapshot import STATUSES, Eval, Snapshot  # noqa: F401  (re-exported)

DIVERGE_FACTOR = 10.0  # a loss above 10× the run's first loss (or non-finite) ends the run as "diverged"
MAX_EVALS = 2_000      # evaluations kept in a snapshot; older ones are thinned beyond this
CHUNK_SECONDS = 0.1    # target wall time of one chunk: sets the snapshot rate (pause/stop cut a chunk within a step)


class Trainer:
    def __init__(self, dataset: Dataset, model_cfg: ModelConfig, train_cfg: TrainConfig,
                 params: dict[str, torch.Tensor] | None = None):
        if model_cfg.vocab_size != len(dataset.vocab):
            raise ConfigError(f"the model's vocab_size is {model_cfg.vocab_size} but the data has {len(dataset.vocab)} characters")
        if model_cfg.block_size != dataset.block_size:
            raise ConfigError(f"the model's block_size is {model_cfg.block_size} but the data was built for {dataset.block_size}")
        resolve_device(train_cfg.device)
        self.dataset, self.model_cfg, self.cfg = dataset, model_cfg, train_cfg
        self.params0 = {k: v.detach().cpu().clone() for k, v in (params or init_params(model_cfg, train_cfg.seed)).items()}
        self.callbacks: dict[str, list[Callable[[Snapshot], None]]] = {"on_chunk": [], "on_eval": [], "on_end": []}
        self._cond = threading.Condition()
        self._paused = False          # the thread waits while True
        self._budget: int | None = None  # steps left before pausing again (step(n)); None = no limit
        self._stop = False
        self._interrupt = np.zeros(1, np.int32)  # set by pause/stop/set_lr: the engine ends its chunk before its next step
        self._carry: torch.Tensor | None = None  # minibatch rows drawn but not trained (a chunk cut short): next in line
        self._measure = True          # a stopped run measures its final losses (see stop())
        self._thread: threading.Thread | None = None
        self._engine = None
        self._history = LossHistory()
        self._evals: list[Eval] = []
        self._step, self._elapsed, self._sps, self._version = 0, 0.0, 0.0, 0
        self._loss0: float | None = None  # the run's first loss, the yardstick for divergence
        self._final: dict | None = None
        self._engine_name = ""
        self._handover = False        # training on the reference engine until the fused kernel is compiled
        self._inst = Instruments(dataset, train_cfg)  # health and the embedding timeline (instruments.py)
        self.nice = 0  # > 0: the training thread runs at a lower OS priority (a server's other threads come first)
        self.recipe: TrainConfig | None = None  # the settings the first step trained with (set_lr changes self.cfg)
        self.lr_changes: list[dict] = []  # [{"step", "lr", "lr2"}]: each new rate, from the step it took effect
        self._snapshot = self._make_snapshot("idle", "", self.params0)

    # ---- reading ---------------------------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The latest published state; an immutable object, safe to read from any thread."""
        return self._snapshot

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def training(self) -> bool:
        """True while the thread trains or is about to: started, and neither paused (Pause, or a Step's steps done)
        nor asked to stop; False once it has ended (finished, stopped, diverged, error)."""
        return self.alive and not self._paused and not self._stop

    def timeline_bytes(self) -> bytes:
        """The embedding timeline as safetensors bytes (call from the training thread, e.g. in a callback)."""
        return self._inst.timeline_bytes()

    def add_callback(self, event: str, fn: Callable[[Snapshot], None]) -> None:
        """Call fn(snapshot) in the training thread on "on_chunk", "on_eval" or "on_end"."""
        self.callbacks[event].append(fn)

    # ---- control ---------------------------------------------------------------------------------------------------
    def run(self) -> Snapshot:
        """Train in the calling thread until the run ends; returns the final snapshot."""
        if self._snapshot.status != "idle":
            raise RuntimeError("this trainer has already run; make a new Trainer to train again")
        self._loop()
        return self._snapshot

    def start(self, paused: bool = False, budget: int | None = None) -> None:
        """Start training in a daemon thread (no-op if it already started)."""
        with self._cond:
            if self._thread is not None:
                return
            self._paused, self._budget = paused, budget
            # publish at once, so no reader sees "idle" while the thread loads the kernel
            self._snapshot = self._make_snapshot("paused" if paused else "running", "", self._snapshot.params)
            self._thread = threading.Thread(target=self._loop, name="mlp_lm-trainer", daemon=True)
            self._thread.start()

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._interrupt[0] = 1  # within one step, not at the end of the chunk
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused, self._budget = False, None
            s = self._snapshot
            if s.status == "paused" and self._thread is not None:  # say so at once; the thread follows within a step
                self._snapshot = self._make_snapshot("running", "", s.params)
            self._cond.notify_all()
        if self._thread is None:
            self.start()

    def step(self, n: int = 1) -> None:
        """Run n more steps, then pause (starts the thread paused if needed)."""
        n = max(int(n), 1)
        if self._thread is None:
            self.start(budget=n)
            return
        with self._cond:
            self._paused, self._budget = False, n
            self._cond.notify_all()

    def stop(self, timeout: float = 5.0, measure: bool = True) -> None:
        """Ask the thread to end, and wait for it (at most `timeout` s; a chunk lasts ≈ 50 ms).

        measure: end with the full-split losses in `snapshot().final` (≈ 0.3 s for the lecture's model, more for a
        big one); False ends at once without them (a closed tab, a run being replaced).
        """
        with self._cond:
            self._stop = True
            self._interrupt[0] = 1
            self._measure = self._measure and measure
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        elif self._thread is None and self._snapshot.status == "idle":
            self._publish("stopped", "")

    def set_lr(self, lr: float, lr2: float | None = None) -> None:
        """Change the learning rate (and the lecture's decayed lr2) from the next step on (within a few steps)."""
        with self._cond:
            self.cfg = self.cfg.replace(lr=float(lr), lr2=float(self.cfg.lr2 if lr2 is None else lr2))
            self._interrupt[0] = 1  # the chunk in flight ends: the next one runs at the new rate
            s = self._snapshot
            if not s.status == "running":  # show it at once; a running thread shows it with its next chunk
                self._snapshot = self._make_snapshot(s.status, s.message, s.params)

    def wait(self, timeout: float | None = None) -> Snapshot:
        """Block until the thread ends (or timeout); returns the latest snapshot."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._snapshot

    # ---- the training thread ---------------------------------------------------------------------------------------
    def _lr_at(self, start: int, n: int) -> np.ndarray:
        c = self.cfg
        return lr_schedule(c.schedule, c.lr, c.lr2, c.decay_at, c.steps, np.arange(start, start + n))

    def _make_snapshot(self, status: str, message: str, params) -> Snapshot:
        steps, losses = self._history.arrays()
        self._version += 1
        lr = float(self._lr_at(min(self._step, max(self.cfg.steps - 1, 0)), 1)[0])
        return Snapshot(status, self._step, self.cfg.steps, lr, steps, losses, tuple(self._evals), self._sps,
                        self._elapsed, message, params, self.model_cfg, self.cfg, self._version,
                        None if self._final is None else dict(self._final), self._engine_name, **self._inst.fields())

    def _publish(self, status: str, message: str = "", event: str = "on_chunk") -> None:
        params = self._engine.params() if self._engine is not None else self._snapshot.params
        if self._engine is not None:
            self._inst.published(self._step, params)
        self._snapshot = self._make_snapshot(status, message, params)
        for fn in self.callbacks[event]:
            fn(self._snapshot)

    def _evaluate(self, params, last: bool = False) -> None:
        ds = self.dataset
        rows = self._train_rows
        self._evals.append(Eval(self._step, evaluate(params, ds.Xtr[rows], ds.Ytr[rows]), evaluate(params, ds.Xdev, ds.Ydev)))
        lr = float(self._lr_at(max(self._step - 1, 0), 1)[0])  # the rate of the step just taken
        self._inst.evaluated(params, self._engine, lr, self._step, self._elapsed, force=last)
        if len(self._evals) > MAX_EVALS:  # bounded like the loss history: thin out the older half
            self._evals = self._evals[: MAX_EVALS // 2 : 2] + self._evals[MAX_EVALS // 2 :]

    def _finish(self, status: str, message: str = "") -> None:
        """Measure the full train / dev / test losses of the parameters the run ends with, then publish the end."""
        if status != "stopped" or self._measure:
            params, ds = self._engine.params(), self.dataset
            self._final = {name: evaluate(params, *ds.split(name)) for name in ("train", "dev", "test")}
        self._publish(status, message, "on_end")

    def _name_engine(self) -> None:
        kind = "reference" if isinstance(self._engine, ReferenceEngine) else "fast"
        self._engine_name = "reference (compiling the fast kernel)" if self._handover else kind

    def _maybe_hand_over(self) -> None:
        """Between chunks: continue on the fused kernel once its compile (engines.start_warmup) is done."""
        ready = engines.ready_to_hand_over()
        if ready:
            self._engine = engines.to_fast(self._engine, self.dataset.Xtr, self.dataset.Ytr, self.cfg)
        if ready or ready is None:
            self._handover = False
            self._name_engine()

    def _note_rate(self) -> None:
        """At a chunk's start: the first step's settings are the recipe; a rate changed since then is noted."""
        c = self.cfg
        last = self.lr_changes[-1] if self.lr_changes else self.recipe and {"lr": self.recipe.lr, "lr2": self.recipe.lr2}
        if last is None:
            self.recipe = c
        elif (c.lr, c.lr2) != (last["lr"], last["lr2"]):
            self.lr_changes.append({"step": self._step, "lr": c.lr, "lr2": c.lr2})

    def _draw(self, g: torch.Generator, n_tr: int, n: int) -> torch.Tensor:
        """The next n rows of minibatch indices: the carried-over ones first, then new draws from the run's stream."""
        carry, self._carry = self._carry, None
        if carry is None:
            return torch.randint(0, n_tr, (n, self.cfg.batch_size), generator=g)
        if len(carry) > n:
            self._carry = carry[n:]
            return carry[:n]
        rest = torch.randint(0, n_tr, (n - len(carry), self.cfg.batch_size), generator=g)
        return torch.cat([carry, rest])

    def _first_bad(self, losses: np.ndarray) -> int:
        """Index of the first loss that is non-finite or above DIVERGE_FACTOR × the run's first loss; len if none."""
        limit = DIVERGE_FACTOR * self._loss0 if self._loss0 is not None else np.inf
        bad = np.flatnonzero(~(losses <= limit))
        return int(bad[0]) if len(bad) else len(losses)

    def _wait_if_paused(self) -> bool:
        """Block while paused; returns False when asked to stop."""
        with self._cond:
            if self._paused and not self._stop:
                self._publish("paused")
            while self._paused and not self._stop:
                self._cond.wait()
            return not self._stop

    def _loop(self) -> None:
        if self.nice and hasattr(os, "setpriority"):  # Linux: a thread is a task with its own priority
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
            except OSError:
                pass
        try:
            self._train()
        except Exception as e:  # surfaced to readers as status "error"; the last good parameters stay in the snapshot
            self._snapshot = self._make_snapshot("error", f"{type(e).__name__}: {e}", self._snapshot.params)
            for fn in self.callbacks["on_end"]:
                fn(self._snapshot)

    def _train(self) -> None:
        cfg, ds = self.cfg, self.dataset
        torch.set_num_threads(cfg.threads)
        resolve_device(cfg.device)
        g = torch.Generator().manual_seed(cfg.seed + 1)  # minibatch stream (the init used `seed`)
        n_tr = len(ds.Ytr)
        self._train_rows = torch.randperm(n_tr, generator=torch.Generator().manual_seed(cfg.seed + 2))[: cfg.eval_train_rows]
        self._publish("running", "preparing the training kernel…")  # loading it can take a moment
        self._engine, self._handover = engines.first_engine(self.params0, ds.Xtr, ds.Ytr, cfg)
        self._name_engine()
        self._inst.start(self.params0, float(self._lr_at(0, 1)[0]))
        self._publish("running" if not self._paused else "paused")
        chunk, total = 16, cfg.steps
        while self._step < total:
            if not self._wait_if_paused():
                break
            with self._cond:
                if self._paused or self._stop:  # asked between the wait and here
                    continue
                self._interrupt[0] = 0
                n = min(chunk, total - self._step)
                if self._budget is not None:
                    n = min(n, self._budget)
                if cfg.eval_interval:
                    n = min(n, cfg.eval_interval - self._step % cfg.eval_interval)
                lrs = self._lr_at(self._step, n)
                self._note_rate()
            if self._handover:
                self._maybe_hand_over()
            idx = self._draw(g, n_tr, n)
            state = self._engine.state()
            t0 = time.perf_counter()
            losses = self._engine.run(idx, lrs, self._interrupt)
            dt = time.perf_counter() - t0
            cut = len(losses) < n and bool(self._interrupt[0])  # paused / stopped / new rate mid-chunk
            if cut:  # keep the steps done; their unused minibatch rows come first next time (the same stream)
                self._carry, n = idx[len(losses):], len(losses)
                idx, lrs = idx[:n], lrs[:n]
            if self._loss0 is None and len(losses):
                self._loss0 = float(losses[0])
            k = self._first_bad(losses)  # losses[k] (if any) came from bad parameters
            keep = max(k - 1, 0)          # roll back to the parameters that gave losses[k - 1]
            if k == n and not self._engine.finite():
                k, keep = n - 1, n - 1     # the chunk's last update made a parameter non-finite
            if k < n:
                self._engine.load_state(state)
                self._engine.run(idx[:keep], lrs[:keep])
                self._history.extend(self._step, losses[:keep])
                self._step += keep
                self._finish("diverged", f"diverged: the loss blew up (non-finite or over {DIVERGE_FACTOR:g}× its start) at learning rate "
                              f"{lrs[keep]:.3g}; kept the parameters of step {self._step:,}, the last good one. "
                              "Lower the learning rate and start again.")
                return
            self._step += n
            self._elapsed += dt
            if not cut:
                self._sps = n / dt if self._sps == 0 else 0.7 * self._sps + 0.3 * n / max(dt, 1e-9)
            # ≈ CHUNK_SECONDS of steps; early on shorter (≤ step / 8), so the first steps, where the embeddings
            # move most, are seen by the snapshots (and the embedding timeline) often
            chunk = int(np.clip(min(self._sps * CHUNK_SECONDS, max(self._step // 8, 16)), 8, 20_000))
            self._history.extend(self._step - n, losses)
            with self._cond:
                if self._budget is not None:
                    self._budget -= n
                    if self._budget <= 0:
                        self._paused, self._budget = True, None
            if cfg.eval_interval and self._step % cfg.eval_interval == 0 and self._step < total:
                self._evaluate(self._engine.params())
                self._publish("running", event="on_eval")
            else:
                self._publish("running")
        if self._step >= total:
            self._evaluate(self._engine.params(), last=True)
            self._finish("finished")
        else:
            self._finish("stopped")
