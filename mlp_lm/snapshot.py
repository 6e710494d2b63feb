"""What the trainer publishes: immutable `Snapshot`s (and the `Eval`s inside), read by pages and callbacks.

A snapshot holds plain floats, read-only arrays and copied parameters, so any thread may read it while training
goes on; the trainer swaps in a new one after every chunk of steps (trainer.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .config import TrainConfig
from .model import ModelConfig

STATUSES = ("idle", "running", "paused", "finished", "stopped", "diverged", "error")


@dataclass(frozen=True)
class Eval:
    step: int
    train: float  # mean loss on a fixed subsample of the training split
    dev: float    # mean loss on the whole dev split


@dataclass(frozen=True)
class Snapshot:
    status: str                       # one of STATUSES
    step: int                         # optimisation steps done
    steps: int                        # steps in the run
    lr: float                         # learning rate of the next step
    loss_steps: np.ndarray            # x of the per-step loss history (bounded; see history.py)
    losses: np.ndarray                # training-minibatch loss at those steps
    evals: tuple[Eval, ...]           # periodic train/dev evaluations
    steps_per_s: float                # recent training speed
    elapsed: float                    # seconds spent training (pauses excluded)
    message: str                      # why a run diverged or failed; empty otherwise
    params: dict[str, torch.Tensor]   # CPU copies of C, W1, b1, W2, b2 at `step`
    model_config: ModelConfig
    train_config: TrainConfig         # as in force now (the learning rate may have changed live)
    version: int = 0                  # increases with every published snapshot
    final: dict | None = None         # {"train", "dev", "test"}: full-split losses once the run has ended (not "error")
    engine: str = ""                  # "fast", "reference", or "reference (compiling the fast kernel)" — see engines.py
    health: object = None             # diagnostics.Health at the latest evaluation (part 3's activation health)
    health_points: tuple = ()         # diagnostics.HealthPoint per measurement: saturation and update ratios over time
    initial_loss: object = None       # diagnostics.InitialLoss: the loss before training against -ln(1/V)
    timeline: tuple = ()              # (steps, C tables) kept through the run (timeline.py); the latest C is in params

    @property
    def done(self) -> bool:
        return self.status in ("finished", "stopped", "diverged", "error")

    @property
    def last_loss(self) -> float:
        return float(self.losses[-1]) if len(self.losses) else float("nan")

    @property
    def last_eval(self) -> Eval | None:
        return self.evals[-1] if self.evals else None
