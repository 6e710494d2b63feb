"""The debiased exponential moving average used by TensorBoard's smoothing slider and fastai's / Lightning's LR finders."""
from __future__ import annotations

import math

import numpy as np


def debiased_ema(values, beta: float) -> np.ndarray:
    """avg = β·avg + (1−β)·v, shown as avg / (1 − β^n) with n the finite points so far, so the start is not pulled
    towards 0. A non-finite point is skipped and shows the previous smoothed value (nan before the first); β = 0 gives
    the values themselves."""
    out = np.full(len(values), np.nan)
    avg, n, last = 0.0, 0, math.nan
    for i, x in enumerate(np.asarray(values, dtype=np.float64).tolist()):
        if math.isfinite(x):
            avg = beta * avg + (1.0 - beta) * x
            n += 1
            last = avg / (1.0 - beta**n)
        out[i] = last
    return out
