"""Part 3's activation health, from a fixed batch: saturated tanh units, dead neurons, the initial loss, update:data.

The trainer calls one function at each evaluation (~1 ms at the lecture's size; bench/bench_health.py measures it):

    Xb, Yb = fixed_batch(ds.Xtr, ds.Ytr, seed)                      # once per run
    hl = health(params, Xb, Yb, lr, optimizer, weight_decay, engine_moments(engine), step)   # a frozen Health
    health_due(trained_seconds_since_last_call, seconds_that_call_took)  # optional guard: ≤ 5 % of training time

`Health` holds small read-only arrays and floats (safe in a snapshot); `hl.point()` is the few numbers a chart of
the run keeps per evaluation. What is measured (karpathy/nn-zero-to-hero, makemore_part3_bn.ipynb):
- h = tanh(C[X].view(N, -1) @ W1 + b1) on the batch: a histogram, the share with |h| > 0.97 (saturated: tanh's
  gradient 1 - h² is below 0.06 there), and the lecture's picture `h.abs() > 0.99` for the first 32 examples, with
  the units saturated on every one of them (dead: they pass no gradient for any of these inputs).
- the update-to-data ratio log10(std(update) / std(param)) for C, W1, W2; about -3 is healthy. The update is the
  one the optimiser makes: SGD's lr · (grad + wd · p), from the gradient of the fixed batch (the lecture's
  lr * p.grad); Adam/AdamW's lr · m̂ / (√v̂ + ε) (+ lr · wd · p for AdamW), from the optimiser's own moments after
  its last step (what it actually applied, up to the learning rate's change since). Before Adam's first step, the
  first update is computed exactly from the batch gradient: m̂ = g, v̂ = g², so it is lr · g / (|g| + ε).
- the initial loss against -ln(1/V) (`read_initial_loss`): far above means confidently wrong logits at init.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .model import PARAM_NAMES

ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, which both engines use (no numba import here)

SATURATED = 0.97        # |h| above this: saturated (the lecture's histogram threshold)
DEAD = 0.99             # |h| above this: white in the lecture's imshow
RATIO_PARAMS = ("C", "W1", "W2")
RATIO_GUIDE = -3.0      # the lecture's guide line for log10(update std / data std)
RATIO_BAND = (-3.5, -2.5)  # half a decade either side: a reading aid, not a rule
HIST_BINS = 50
IMAGE_ROWS = 32         # examples in the dead-neuron image (the lecture's batch)
BATCH_ROWS = 128        # rows of the fixed batch (its h: 128 × hidden values for the histogram)
HEALTH_BUDGET = 0.05    # the share of training time health may take (see health_due)


def fixed_batch(X, Y, seed: int, rows: int = BATCH_ROWS) -> tuple[torch.Tensor, torch.Tensor]:
    """`rows` examples drawn once with their own generator (the same for the whole run, so frames compare)."""
    X, Y = torch.as_tensor(X), torch.as_tensor(Y)
    ix = torch.randperm(len(Y), generator=torch.Generator().manual_seed(int(seed) + 3))[:rows]
    return X[ix].clone(), Y[ix].clone()


def health_due(trained_seconds: float, last_cost_seconds: float, budget: float = HEALTH_BUDGET) -> bool:
    """Whether to compute health at this evaluation: when the training time since the last health call is at least
    1/budget times what that call cost. At the app's intervals this is every evaluation; it only skips some when a
    tiny model evaluates every few milliseconds, so the panel never takes more than `budget` of the training time."""
    return last_cost_seconds <= budget * trained_seconds


@dataclass(frozen=True)
class Moments:
    """Adam's state after its last step: exp_avg and exp_avg_sq per parameter name, and the step count t."""

    m: dict[str, np.ndarray]
    v: dict[str, np.ndarray]
    t: int


def engine_moments(engine) -> Moments | None:
    """The optimiser moments of a FastEngine or ReferenceEngine (copies of C, W1, W2's); None for SGD or none yet."""
    if engine is None:
        return None
    if hasattr(engine, "theta"):  # FastEngine: flat vectors
        if engine.m.size == 0 or engine.t == 0:
            return None
        V, E, T, H = engine.dims
        sizes = {"C": V * E, "W1": T * E * H, "b1": H, "W2": H * V, "b2": V}
        offsets = dict(zip(PARAM_NAMES, np.cumsum([0] + [sizes[k] for k in PARAM_NAMES])))
        shapes = {"C": (V, E), "W1": (T * E, H), "W2": (H, V)}

        def part(flat, k):
            return flat[offsets[k] : offsets[k] + sizes[k]].reshape(shapes[k]).copy()

        return Moments({k: part(engine.m, k) for k in RATIO_PARAMS}, {k: part(engine.v, k) for k in RATIO_PARAMS},
                       int(engine.t))
    opt = getattr(engine, "opt", None)
    if opt is None:
        return None
    m, v, t = {}, {}, 0
    for k in RATIO_PARAMS:
        st = opt.state.get(engine.p[k], {})
        if "exp_avg" not in st:
            return None
        m[k] = st["exp_avg"].detach().cpu().numpy().copy()
        v[k] = st["exp_avg_sq"].detach().cpu().numpy().copy()
        t = int(st["step"])
    return Moments(m, v, t)


@dataclass(frozen=True)
class HealthPoint:
    """What a chart over the run keeps per evaluation."""

    step: int
    saturated: float                     # fraction of |h| > 0.97 on the fixed batch
    update_ratios: tuple[float, ...]     # log10(std(update) / std(param)) for RATIO_PARAMS, in that order


@dataclass(frozen=True)
class Health:
    step: int
    loss: float                          # mean cross-entropy on the fixed batch
    hist_counts: np.ndarray              # (HIST_BINS,) counts of h over [-1, 1]
    hist_edges: np.ndarray               # (HIST_BINS + 1,)
    saturated: float                     # fraction of h with |h| > 0.97
    h_mean: float
    h_std: float
    dead_image: np.ndarray               # (IMAGE_ROWS, H) bool: h.abs() > 0.99 for the first examples
    dead_units: np.ndarray               # indices of the units white in every row of dead_image
    update_ratios: tuple[float, ...]     # for RATIO_PARAMS; nan where a parameter has no spread or no update yet
    optimizer: str

    @property
    def ratios(self) -> dict[str, float]:
        return dict(zip(RATIO_PARAMS, self.update_ratios))

    def point(self) -> HealthPoint:
        return HealthPoint(self.step, self.saturated, self.update_ratios)


def _ro(a) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def _log_ratio(update: torch.Tensor, param: torch.Tensor) -> float:
    su, sp = float(update.std()), float(param.std())  # unbiased, as the lecture's tensor.std()
    return math.log10(su / sp) if su > 0 and sp > 0 and math.isfinite(su / sp) else float("nan")


def batch_grads(p: dict[str, torch.Tensor], X, Y, emb, h, logits) -> dict[str, torch.Tensor]:
    """Gradients of the batch's mean cross-entropy for C, W1, W2: the closed form of fast.py's kernel."""
    N, E = len(Y), p["C"].shape[1]
    dl = F.softmax(logits, 1)
    dl[torch.arange(N), Y] -= 1.0
    dl /= N
    dpre = (dl @ p["W2"].T) * (1.0 - h * h)
    gC = torch.zeros_like(p["C"]).index_add_(0, X.reshape(-1), (dpre @ p["W1"].T).reshape(-1, E))
    return {"C": gC, "W1": emb.T @ dpre, "W2": h.T @ dl}


def updates(p: dict[str, torch.Tensor], lr: float, optimizer: str, weight_decay: float,
            moments: Moments | None, g: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """The update each of C, W1, W2 gets from the optimiser (see the module docstring); its sign does not matter."""
    out = {}
    b1, b2 = ADAM_BETAS
    for k in RATIO_PARAMS:
        if optimizer == "sgd":
            out[k] = lr * (g[k] + weight_decay * p[k])
            continue
        if moments is None:  # Adam's first step: m̂ = g, v̂ = g² (Adam's L2 term is part of g)
            gk = g[k] + weight_decay * p[k] if optimizer == "adam" else g[k]
            u = lr * gk / (gk.abs() + ADAM_EPS)
        else:
            mhat = torch.from_numpy(moments.m[k]) / (1 - b1**moments.t)
            vhat = torch.from_numpy(moments.v[k]) / (1 - b2**moments.t)
            u = lr * mhat / (vhat.sqrt() + ADAM_EPS)
        out[k] = u + lr * weight_decay * p[k] if optimizer == "adamw" else u
    return out


def health(params, Xb, Yb, lr: float, optimizer: str = "sgd", weight_decay: float = 0.0,
           opt_moments: Moments | None = None, step: int = 0) -> Health:
    """The activation health of `params` on the fixed batch (Xb, Yb); see the module docstring. ~1 ms."""
    p = {k: torch.as_tensor(params[k]).detach().to("cpu", torch.float32) for k in PARAM_NAMES}
    X, Y = torch.as_tensor(Xb).cpu(), torch.as_tensor(Yb).cpu()
    with torch.inference_mode():  # torch (one thread in the trainer), not NumPy, whose BLAS starts threads of its own
        emb = p["C"][X].view(len(X), -1)
        h = torch.tanh(emb @ p["W1"] + p["b1"])
        logits = h @ p["W2"] + p["b2"]
        loss = float(F.cross_entropy(logits, Y))
        g = batch_grads(p, X, Y, emb, h, logits) if optimizer == "sgd" or opt_moments is None else None
        up = updates(p, float(lr), optimizer, float(weight_decay), opt_moments, g)
        ratios = tuple(_log_ratio(up[k], p[k]) for k in RATIO_PARAMS)
        a = h.abs()
        image = (a[:IMAGE_ROWS] > DEAD).numpy()
        bins = ((h + 1.0) * (HIST_BINS / 2)).long().clamp_(0, HIST_BINS - 1)  # torch.histc's bins, 3× faster
        counts = torch.bincount(bins.view(-1), minlength=HIST_BINS).numpy()
        sat, mean, std = float((a > SATURATED).float().mean()), float(h.mean()), float(h.std()) if h.numel() > 1 else 0.0
    return Health(step=int(step), loss=loss, hist_counts=_ro(counts), hist_edges=_ro(np.linspace(-1.0, 1.0, HIST_BINS + 1)),
                  saturated=sat, h_mean=mean, h_std=std, dead_image=_ro(image),
                  dead_units=_ro(np.flatnonzero(image.all(0))), update_ratios=ratios, optimizer=optimizer)


@dataclass(frozen=True)
class InitialLoss:
    loss: float       # the loss before any training step
    uniform: float    # -ln(1/V): the loss of a model that spreads its bets evenly (3.296 for V = 27)
    reading: str      # one line for the page


def read_initial_loss(loss: float, vocab_size: int) -> InitialLoss:
    """Compare the first loss with -ln(1/V): "confidently wrong at init" when it is far above."""
    uniform = math.log(vocab_size)
    if not math.isfinite(loss):
        reading = "the initial loss is not finite: the logits overflow at init; scale W2 down"
    elif loss > uniform + 1.0:
        reading = (f"confidently wrong at init: {loss:.2f} against {uniform:.2f} for even odds — the logits start "
                   f"too large (scale W2 and b2 down, part 3's first fix)")
    elif loss < uniform - 0.5:
        reading = f"below even odds ({uniform:.2f}) already at the start: these parameters were trained before"
    else:
        reading = f"as expected: {loss:.2f}, close to −ln(1/{vocab_size}) = {uniform:.2f} (even odds at init)"
    return InitialLoss(float(loss), uniform, reading)
