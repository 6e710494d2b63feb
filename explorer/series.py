"""Numeric helpers for the live loss curve: TensorBoard's debiased EMA, a step window, downsampling, a y range that
the first steps do not squash, and readable learning rates."""
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


def y_range(losses, others=(), *, whole: bool = False, spread: float = 3.0) -> tuple[float, float, float | None]:
    """(low, high, clipped) in loss units for the loss chart's y axis.

    whole=False fits the bulk of the curve: high is at most the upper quartile + `spread` × the interquartile range
    of `losses`, so the first steps' loss (≈ 20 at the lecture's init, against ≈ 2–3 afterwards) does not squash
    the rest to the bottom — when that gives the bulk at least twice the height it would have otherwise. `others` (evaluations, reference lines) are always inside. clipped: the highest loss left
    above the range (None when nothing is).
    """
    v = np.asarray(losses, dtype=np.float64)
    v = v[np.isfinite(v)]
    o = np.asarray([x for x in others if x is not None and np.isfinite(x)], dtype=np.float64)
    allv = np.concatenate([v, o])
    if not len(allv):
        return 0.0, 1.0, None
    lo, hi = float(allv.min()), float(allv.max())
    clipped = None
    if not whole and len(v) >= 8:
        q1, q3 = np.quantile(v, [0.25, 0.75])
        top = max(float(q3 + spread * (q3 - q1)), float(o.max()) if len(o) else -np.inf)
        if hi - lo > 2 * (top - lo):  # only when the bulk would get less than half the height
            hi, clipped = top, float(v.max())
    return lo, hi, clipped


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def fmt_lr(lr: float) -> str:
    """A learning rate as a person reads it: 0.1, 0.0316, 0.00042; tiny or huge ones as 4 × 10⁻⁸ (not '4e-08')."""
    lr = float(lr)
    if not np.isfinite(lr):
        return str(lr)
    if lr == 0:
        return "0"
    if 1e-4 <= abs(lr) < 1e3:
        return f"{lr:.3g}"  # Python's g stays in fixed notation down to 1e-4
    mantissa, exp = f"{lr:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa} × 10{str(int(exp)).translate(_SUPERSCRIPT)}"


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
