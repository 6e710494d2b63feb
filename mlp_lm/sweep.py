"""The lecture's learning-rate range test, with the smoothing, early stop and suggestions of fastai / Lightning.

makemore part 2 finds a good rate by taking one minibatch step per rate on an exponential grid
(`lre = torch.linspace(-3, 0, 1000); lrs = 10**lre`) and plotting the loss against `lre`. `lr_sweep` does the same on a
copy of the parameters, with the trainer's fused engine so 1,000 steps take a fraction of a second, and adds:

  * a debiased exponential moving average of the loss (beta 0.98, as fastai's and Lightning's finders),
  * an early stop once the smoothed loss exceeds `diverge_factor` × its best value (or a loss is not finite),
  * suggestions from the smoothed curve with fastai's trimming (first num//10 points, last 5, anything after a NaN):
      "valley"        fastai's default: ~2/3 of the way down the longest decreasing stretch of the curve,
      "steepest"      Lightning's: where the smoothed loss falls fastest against log10(lr),
      "minimum / 10"  fastai's classic rule: the rate at the lowest smoothed loss, divided by 10,
      "lowest loss"   the lecture's own reading: the rate at the bottom of the smoothed curve (makemore part 2
                      reads 0.1 there, exponent −1).

The rules differ because the sweep trains as it goes: each rate is tried on a model already trained by all the smaller
rates before it, so early rates are also early steps. fastai's and Lightning's rules aim below the bottom, where a
whole run at one rate stays stable; the lecture takes the bottom and decays it ×10 later in the run.

`suggest(lrs, losses)` is the pure part, usable on any curve.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import MAX_BATCH, OPTIMIZERS, TrainConfig
from .errors import ConfigError, DataError
from .model import LECTURE_SEED, PARAM_NAMES, ModelConfig, param_shapes
from .smoothing import debiased_ema
from .engines import first_engine

MAX_SWEEP_STEPS = 100_000
CHECK_EVERY = 100          # losses are read back (and the early stop checked) once per this many steps


@dataclass
class SweepResult:
    """One range test: a point per step taken (all arrays the same length, in step order)."""

    lrs: np.ndarray          # learning rate of each step
    log10_lrs: np.ndarray    # log10 of it (the lecture's `lre`, the x axis of its plot)
    losses: np.ndarray       # raw minibatch loss of each step, measured before its update
    smoothed: np.ndarray     # debiased EMA of `losses`
    stopped_early: bool      # True if the sweep stopped before `num` steps because the loss diverged
    suggestions: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (lr, smoothed loss there)
    num_requested: int = 0   # the `num` asked for


# ---------------------------------------------------------------------------------------------------------- smoothing


def smooth(losses, beta: float = 0.98) -> np.ndarray:
    """fastai / Lightning smoothing of a sweep's losses (the debiased EMA, see smoothing.py)."""
    return debiased_ema(losses, beta)


# -------------------------------------------------------------------------------------------------------- suggestions


def _valley_index(losses: np.ndarray) -> int:
    """fastai's `valley`, step for step (vectorised over its inner loop).

    lds[i] is the length of the longest strictly decreasing subsequence ending at i; the valley ends where lds first
    reaches its maximum, and fastai fixes the start as i − (the value of lds[i] at the moment i overtook the previous
    best). The suggestion is `start + int(len/3) + int(len/6)`, i.e. about half way (fastai: "2/3 down") the valley.
    """
    n = len(losses)
    lds = np.ones(n, dtype=np.int64)
    max_start, max_end = 0, 0
    for i in range(1, n):
        run = np.maximum.accumulate(np.where(losses[:i] > losses[i], lds[:i] + 1, 1))
        lds[i] = run[-1]
        best = lds[max_end]
        if lds[i] > best:
            max_end = i
            max_start = i - int(run[np.argmax(run > best)])
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return min(max(idx, 0), n - 1)


def suggest(lrs, losses, beta: float = 0.98, *, skip_start: int | None = None, skip_end: int = 5) -> dict[str, tuple[float, float]]:
    """Suggested learning rates from raw `losses` measured at increasing `lrs`: name -> (lr, smoothed loss there).

    The losses are smoothed with `beta` (0 = use them as given), the first `skip_start` points (default len // 10)
    and the last `skip_end` are dropped, and so is everything from the first non-finite value on, as fastai does.
    Returns {} when fewer than 2 points remain.
    """
    lrs = np.asarray(lrs, dtype=np.float64).ravel()
    losses = np.asarray(losses, dtype=np.float64).ravel()
    if len(lrs) != len(losses):
        raise DataError(f"lrs and losses must have the same length, got {len(lrs)} and {len(losses)}")
    if not 0.0 <= beta < 1.0:
        raise ConfigError(f"beta must be in [0, 1), got {beta!r}")
    if len(lrs) and (not np.all(np.isfinite(lrs)) or np.any(lrs <= 0)):
        raise DataError("learning rates must be finite and > 0")
    sm = smooth(losses, beta)
    lo = len(sm) // 10 if skip_start is None else max(int(skip_start), 0)
    hi = len(sm) - max(int(skip_end), 0)
    lr_t, sm_t = lrs[lo:hi], sm[lo:hi]
    bad = np.flatnonzero(~np.isfinite(sm_t))
    if len(bad):
        lr_t, sm_t = lr_t[: bad[0]], sm_t[: bad[0]]
    if len(sm_t) < 2:
        return {}
    x = np.log10(lr_t)

    out = {}
    i = _valley_index(sm_t)
    out["valley"] = (float(lr_t[i]), float(sm_t[i]))

    grads = np.gradient(sm_t, x) if np.all(np.diff(x) > 0) else np.gradient(sm_t)
    i = int(np.argmin(grads))
    out["steepest"] = (float(lr_t[i]), float(sm_t[i]))

    i = int(np.argmin(sm_t))
    lr = float(lr_t[i]) / 10.0
    finite = np.isfinite(sm)
    loss_there = np.interp(math.log10(lr), np.log10(lrs[finite]), sm[finite])  # on the drawn curve (clamped at its ends)
    out["minimum / 10"] = (lr, float(loss_there))

    out["lowest loss"] = (float(lr_t[i]), float(sm_t[i]))  # the lecture's reading: the bottom of the curve
    return out


# --------------------------------------------------------------------------------------------------------- the sweep


def _check_inputs(params, data, model_cfg):
    if not isinstance(model_cfg, ModelConfig):
        raise ConfigError(f"model_cfg must be a ModelConfig, got {type(model_cfg).__name__}")
    if not isinstance(params, dict) or set(PARAM_NAMES) - set(params):
        raise ConfigError(f"params must be a dict with {', '.join(PARAM_NAMES)}")
    for name, shape in param_shapes(model_cfg).items():
        if tuple(params[name].shape) != shape:
            raise ConfigError(f"{name} has shape {tuple(params[name].shape)} but the model config needs {shape}")
    if hasattr(data, "Xtr") and hasattr(data, "Ytr"):
        X, Y = data.Xtr, data.Ytr
    else:
        try:
            X, Y = data
        except (TypeError, ValueError):
            raise DataError("pass a Dataset or a pair (Xtr, Ytr)") from None
    X, Y = torch.as_tensor(X), torch.as_tensor(Y)
    if X.dtype.is_floating_point or Y.dtype.is_floating_point or X.ndim != 2 or Y.ndim != 1 or len(X) != len(Y):
        raise DataError("Xtr must be integer (N, block_size) and Ytr integer (N,)")
    if len(Y) == 0:
        raise DataError("the training split is empty")
    if X.shape[1] != model_cfg.block_size:
        raise DataError(f"Xtr has contexts of {X.shape[1]} characters but the model's block_size is {model_cfg.block_size}")
    V = model_cfg.vocab_size
    if int(X.min()) < 0 or int(Y.min()) < 0 or int(X.max()) >= V or int(Y.max()) >= V:
        raise DataError(f"Xtr/Ytr hold character indices outside the model's vocabulary of {V}")
    return X.to(torch.int64), Y.to(torch.int64)


def lr_sweep(
    params: dict[str, torch.Tensor],
    data,
    model_cfg: ModelConfig,
    *,
    lr_min: float = 1e-3,
    lr_max: float = 1.0,
    num: int = 1000,
    batch_size: int = 32,
    seed: int = LECTURE_SEED,
    optimizer: str = "sgd",
    weight_decay: float = 0.0,
    beta: float = 0.98,
    diverge_factor: float | None = 4.0,
    device: str = "cpu",
) -> SweepResult:
    """The lecture's LR range test on a copy of `params` (the caller's tensors are never modified).

    data: a `Dataset` (its training split is used) or a pair (Xtr, Ytr). Step i uses rate
    10**linspace(log10(lr_min), log10(lr_max), num)[i] and the i-th row of batch indices drawn up front with
    torch.randint(…, generator=torch.Generator().manual_seed(seed)). The sweep stops after the step whose smoothed
    loss exceeds diverge_factor × the best smoothed loss so far (None: never), or whose loss is not finite.
    The steps are the trainer's own engine (the fused kernel on the CPU), so a sweep trains exactly as a run would.
    """
    for name, v in (("lr_min", lr_min), ("lr_max", lr_max)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v <= 0:
            raise ConfigError(f"{name} must be a finite number > 0, got {v!r}")
    if lr_max < lr_min:
        raise ConfigError(f"lr_max ({lr_max:g}) must not be below lr_min ({lr_min:g})")
    if not isinstance(num, int) or isinstance(num, bool) or not 1 <= num <= MAX_SWEEP_STEPS:
        raise ConfigError(f"num must be a whole number from 1 to {MAX_SWEEP_STEPS:,}, got {num!r}")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= MAX_BATCH:
        raise ConfigError(f"batch_size must be a whole number from 1 to {MAX_BATCH:,}, got {batch_size!r}")
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if not isinstance(beta, (int, float)) or not 0.0 <= beta < 1.0:
        raise ConfigError(f"beta must be in [0, 1), got {beta!r}")
    if diverge_factor is not None and (not isinstance(diverge_factor, (int, float)) or not diverge_factor > 1.0):
        raise ConfigError(f"diverge_factor must be a number > 1 or None, got {diverge_factor!r}")
    if not isinstance(weight_decay, (int, float)) or not math.isfinite(weight_decay) or weight_decay < 0:
        raise ConfigError(f"weight_decay must be a finite number ≥ 0, got {weight_decay!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ConfigError(f"seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    Xtr, Ytr = _check_inputs(params, data, model_cfg)

    lrs = 10.0 ** np.linspace(math.log10(lr_min), math.log10(lr_max), num)
    ix = torch.randint(0, len(Ytr), (num, batch_size), generator=torch.Generator().manual_seed(seed))
    cfg = TrainConfig(batch_size=batch_size, optimizer=optimizer, weight_decay=weight_decay, device=device)
    engine, _ = first_engine(params, Xtr, Ytr, cfg)  # the trainer's own step, on a copy of the parameters
    # (on a machine whose fused kernel is still compiling: the reference engine, which computes the same steps)

    raw: list[float] = []
    avg, best, stopped = 0.0, math.inf, False
    for start in range(0, num, CHECK_EVERY):
        stop = min(start + CHECK_EVERY, num)
        chunk = engine.run(ix[start:stop], lrs[start:stop])
        for loss in chunk.tolist():
            raw.append(loss)
            avg = beta * avg + (1.0 - beta) * loss
            sm = avg / (1.0 - beta ** len(raw))
            best = min(best, sm)
            if diverge_factor is not None and sm > diverge_factor * best:
                stopped = True
                break
        if stopped or len(chunk) < stop - start:  # exploded, or a loss was not finite
            stopped = True
            break

    n = len(raw)
    losses = np.asarray(raw, dtype=np.float64)
    return SweepResult(
        lrs=lrs[:n],
        log10_lrs=np.log10(lrs[:n]),
        losses=losses,
        smoothed=smooth(losses, beta),
        stopped_early=stopped and n < num,
        suggestions=suggest(lrs[:n], losses, beta, skip_start=num // 10),
        num_requested=num,
    )
