"""Numeric helpers for the live loss curve: TensorBoard's debiased EMA, a step window, and downsampling."""
from __future__ import annotations

import numpy as np

from mlp_lm import smoothing

MAX_POINTS = 600  # points per trace sent to the browser on each refresh


def debiased_ema(values, weight: float) -> np.ndarray:
    """TensorBoard's smoothing slider (see mlp_lm.smoothing), with the weight kept in [0, 0.9999]."""
    return smoothing.debiased_ema(values, float(min(max(weight, 0.0), 0.9999)))


def window(steps: np.ndarray, *arrays: np.ndarray, last: int | None = None):
    """Keep only the points of the last `last` steps (None or 0: everything)."""
    if not last or len(steps) == 0:
        return (steps, *arrays)
    keep = steps >= steps[-1] - last
    return (steps[keep], *(a[keep] for a in arrays))


def downsample(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of ≤ max_points evenly spread points out of n, always including the first and the last."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def time_left(step: int, steps: int, steps_per_s: float) -> float | None:
    if steps_per_s <= 0 or step >= steps:
        return None
    return (steps - step) / steps_per_s


def fmt_duration(seconds: float | None) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
