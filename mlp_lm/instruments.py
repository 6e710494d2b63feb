"""What the trainer measures besides the loss, for its snapshots: part 3's activation health and the embedding timeline.

    inst = Instruments(dataset, train_cfg)
    inst.start(params, lr)                    # before the first step: health at init and the initial-loss reading
    inst.evaluated(params, engine, lr, step, trained_s)   # at each evaluation (skipped if over its time budget,
                                              # except the last one)
    inst.published(step, params)              # at each snapshot: offers C to the timeline
    inst.fields()                             # the snapshot's health / health_points / initial_loss / timeline

Health comes from one fixed batch (diagnostics.fixed_batch) so its frames compare; it costs ~1–4 ms and
`diagnostics.health_due` keeps it under 5 % of the training time. Everything handed out is immutable.
"""
from __future__ import annotations

import time

from .diagnostics import engine_moments, fixed_batch, health, health_due, read_initial_loss
from .timeline import EmbeddingTimeline

MAX_POINTS = 2_000  # health points kept (older ones are thinned, like the trainer's evaluations)


class Instruments:
    def __init__(self, dataset, cfg):
        self.cfg = cfg
        self.vocab_size = len(dataset.vocab)
        self.batch = fixed_batch(dataset.Xtr, dataset.Ytr, cfg.seed)
        self.timeline = EmbeddingTimeline()
        self.health = None          # the latest diagnostics.Health
        self.points: tuple = ()     # HealthPoint per measurement, oldest first
        self.initial_loss = None    # diagnostics.InitialLoss
        self._frames = self.timeline.frames()
        self._cost = 0.0            # seconds the last health call took
        self._trained_at_last = 0.0

    def _measure(self, params, lr, step, moments=None) -> None:
        t0 = time.perf_counter()
        h = health(params, *self.batch, lr, self.cfg.optimizer, self.cfg.weight_decay, moments, step)
        self._cost = time.perf_counter() - t0
        self.health = h
        points = self.points + (h.point(),)
        if len(points) > MAX_POINTS:
            points = points[: MAX_POINTS // 2 : 2] + points[MAX_POINTS // 2 :]
        self.points = points

    def start(self, params, lr: float) -> None:
        if len(self.batch[1]) == 0:
            return
        self._measure(params, lr, 0)
        self.initial_loss = read_initial_loss(self.health.loss, self.vocab_size)
        self.published(0, params)

    def evaluated(self, params, engine, lr: float, step: int, trained_s: float, force: bool = False) -> None:
        """force: measure even over the time budget (the run's last evaluation always has its health)."""
        if len(self.batch[1]) == 0 or not (force or health_due(trained_s - self._trained_at_last, self._cost)):
            return
        self._trained_at_last = trained_s
        self._measure(params, lr, step, engine_moments(engine))

    def published(self, step: int, params) -> None:
        if self.timeline.add(step, params["C"]):
            self._frames = self.timeline.frames()  # copied only when a frame is kept (≤ ~300 times a run)

    def fields(self) -> dict:
        return {"health": self.health, "health_points": self.points, "initial_loss": self.initial_loss,
                "timeline": self._frames}

    def timeline_bytes(self) -> bytes:
        return self.timeline.to_bytes()
