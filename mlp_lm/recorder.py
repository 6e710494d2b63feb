"""Recording a run into the store as it trains: the trainer's callbacks write the run's folder.

    rec = store.recorder(trainer, DataInfo.of(words, "names.txt"), source="cli", words=words)
    trainer.run()                     # or start() in the background; rec.run_id names the folder

The folder is created at the run's first step (an idle trainer that never trains leaves nothing). From then on the
evaluations, the status and the checkpoint are written at every evaluation, at least every SAVE_SECONDS, when the
run pauses, and at its end; the per-step loss history at most every SAVE_SECONDS and at the end — each file
atomically — so a killed process loses at most SAVE_SECONDS (or one evaluation interval) of its run.
Writes happen in the training thread (a few ms each); a write that fails (disk full, folder removed) is remembered in
`rec.error` and never stops training. `train_run` trains one recorded run to the end (what grid trials call).
"""
from __future__ import annotations

import time

import numpy as np

from . import atomic
from .runs import RUN_FORMAT, DataInfo, RunStore, new_run_id, now_iso

SAVE_SECONDS = 5.0  # at most this much training between two saves of a run's folder


def default_name(model: dict, train: dict) -> str:
    return (f"block {model['block_size']} · emb {model['emb_dim']} · hidden {model['hidden']} · "
            f"{train['optimizer']} {train['lr']:g} · {train['steps']:,} steps")


class RunRecorder:
    def __init__(self, store: RunStore, trainer, data: DataInfo, *, source: str = "cli", sweep: str | None = None,
                 name: str | None = None, words=None, timeline="auto"):
        self.store, self.trainer, self.data = store, trainer, data
        self.source, self.sweep = source, sweep
        self.run_id = new_run_id()
        self.created = now_iso()
        self.name = name or default_name(trainer.model_cfg.to_dict(), trainer.cfg.to_dict())
        self.words = words
        # a callable () -> bytes of timeline.safetensors; "auto": the trainer's own embedding timeline
        self.timeline = getattr(trainer, "timeline_bytes", None) if timeline == "auto" else timeline
        self.error: str | None = None  # the last write failure, if any
        self._made = False
        self._last_save = 0.0         # time.monotonic() of the last save / of the last loss-history write
        self._last_losses = 0.0
        self._last_status = None
        trainer.add_callback("on_chunk", self._on_chunk)
        trainer.add_callback("on_eval", self.save)
        trainer.add_callback("on_end", self.save)

    @property
    def path(self):
        return self.store.root / self.run_id

    def _on_chunk(self, snap) -> None:
        if snap.step == 0 and not self._made:
            return  # "preparing the kernel": nothing trained yet
        if (not self._made or snap.status != self._last_status
                or time.monotonic() - self._last_save >= SAVE_SECONDS):
            self.save(snap)

    def save(self, snap) -> None:
        """Write the run's folder from a snapshot (called in the training thread)."""
        try:
            if not self._made:
                self.store.ensure_root()
                self.path.mkdir()
                if self.words is not None:
                    self.store.save_words(self.words)
                self._made = True
                self.store.prune(protect=(self.run_id,))
            self._write(snap)
            self.error = None
        except Exception as e:  # a full disk or a deleted folder must never stop training
            self.error = f"{type(e).__name__}: {e}"
        self._last_save, self._last_status = time.monotonic(), snap.status

    def _write(self, snap) -> None:
        d, mc, tc = self.path, snap.model_config, snap.train_config
        if snap.done or time.monotonic() - self._last_losses >= SAVE_SECONDS:  # up to 20,000 rows: not at every eval
            steps, losses = np.asarray(snap.loss_steps), np.asarray(snap.losses)
            atomic.write_text(d / "losses.csv", "step,loss\n"
                              + "".join(f"{s},{v:.6g}\n" for s, v in zip(steps.tolist(), losses.tolist())))
            self._last_losses = time.monotonic()
        atomic.write_text(d / "evals.csv", "step,train_loss,dev_loss\n"
                          + "".join(f"{e.step},{e.train:.6g},{e.dev:.6g}\n" for e in snap.evals))
        final = None if snap.final is None else {f"{k}_loss": v for k, v in snap.final.items()}
        extra = {"run_id": self.run_id, "status": snap.status, "step": snap.step, **(final or {})}
        from . import checkpoint  # torch: not needed to read or list runs (the app's first page)

        atomic.write_bytes(d / "model.safetensors",
                           checkpoint.to_bytes(snap.params, mc, self.trainer.dataset.vocab, tc, extra=extra))
        if self.timeline is not None:
            data = self.timeline()
            if data:
                atomic.write_bytes(d / "timeline.safetensors", data)
        recipe = getattr(self.trainer, "recipe", None) or tc  # a live learning-rate change is kept apart from it
        ev = snap.last_eval
        atomic.write_json(d / "run.json", {
            "format": RUN_FORMAT, "version": 1, "id": self.run_id, "name": self.name,
            "created": self.created, "updated": now_iso(), "source": self.source, "sweep": self.sweep,
            "status": snap.status, "step": snap.step, "steps": snap.steps, "seconds": round(snap.elapsed, 3),
            "steps_per_s": round(snap.step / snap.elapsed, 1) if snap.elapsed else 0.0,
            "model": mc.to_dict(), "train": recipe.to_dict(),
            "lr_changes": list(getattr(self.trainer, "lr_changes", ())), "data": self.data.to_dict(), "n_params": mc.n_params,
            "last_eval": None if ev is None else {"step": ev.step, "train_loss": ev.train, "dev_loss": ev.dev},
            "final": final, "message": snap.message,
        })


def train_run(dataset, model_cfg, train_cfg, store: RunStore, data: DataInfo, *, source: str = "cli",
              sweep: str | None = None, name: str | None = None, words=None, should_stop=None, callbacks=None,
              params=None):
    """Train one run to its end in this thread, recorded in `store`; returns (final snapshot, run id).

    should_stop: polled after every chunk of steps (≈ 10 times a second); True ends the run as "stopped".
    callbacks: {"on_chunk" | "on_eval" | "on_end": [fn(snapshot)]}, run in this thread after the recorder's.
    """
    from .trainer import Trainer

    trainer = Trainer(dataset, model_cfg, train_cfg, params=params)
    rec = store.recorder(trainer, data, source=source, sweep=sweep, name=name, words=words)
    for event, fns in (callbacks or {}).items():
        for fn in fns:
            trainer.add_callback(event, fn)
    if should_stop is not None:
        for event in ("on_chunk", "on_eval"):  # a chunk ends in one of the two
            trainer.add_callback(event, lambda s: trainer.stop() if should_stop() else None)
    snap = trainer.run()
    return snap, rec.run_id
