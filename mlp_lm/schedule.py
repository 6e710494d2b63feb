"""Learning-rate schedules as plain functions of the step: the lecture's step decay, constant, cosine, one-cycle.

`lr_schedule(kind, lr, lr2, decay_step, total, steps)` returns the learning rate for each step in `steps` (a NumPy
array), so a trainer can fetch a whole chunk of rates at once and a UI can draw the schedule.
"""
from __future__ import annotations

import numpy as np

SCHEDULES = ("step", "constant", "cosine", "onecycle")
ONECYCLE_WARMUP = 0.25    # fraction of the run spent warming up (fastai's pct_start)
ONECYCLE_DIV = 25.0       # the warm-up starts at lr / 25 (fastai and PyTorch's OneCycleLR)
ONECYCLE_FINAL_DIV = 1e4  # and the run ends at lr / (25 * 1e4)


def _cos_anneal(start, end, frac):
    return end + (start - end) * 0.5 * (1.0 + np.cos(np.pi * np.clip(frac, 0.0, 1.0)))


def lr_schedule(kind: str, lr: float, lr2: float, decay_step: int, total: int, steps) -> np.ndarray:
    """Learning rate at each step (0-based) of a run of `total` steps.

    step:     lr before `decay_step`, lr2 from it on (the lecture: 0.1, then 0.01 from step 100,000)
    constant: lr throughout
    cosine:   cosine from lr down to lr2 over the run
    onecycle: cosine warm-up from lr/25 to lr over the first quarter, then cosine down to lr/(25·1e4)
    """
    steps = np.asarray(steps, dtype=np.float64)
    total = max(int(total), 1)
    if kind == "step":
        return np.where(steps < decay_step, lr, lr2).astype(np.float64)
    if kind == "constant":
        return np.full(steps.shape, float(lr))
    if kind == "cosine":
        return _cos_anneal(lr, lr2, steps / max(total - 1, 1))
    if kind == "onecycle":
        warm = max(int(ONECYCLE_WARMUP * total), 1)
        up = _cos_anneal(lr / ONECYCLE_DIV, lr, steps / warm)
        down = _cos_anneal(lr, lr / (ONECYCLE_DIV * ONECYCLE_FINAL_DIV), (steps - warm) / max(total - warm - 1, 1))
        return np.where(steps < warm, up, down)
    raise ValueError(f"unknown schedule {kind!r}; choose one of {', '.join(SCHEDULES)}")
