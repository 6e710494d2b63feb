"""The fast engine: the lecture's training step as one numba kernel (kernel.py) that runs a chunk of steps per call.

Same interface as `ReferenceEngine` (see reference.py); CPU only. C, W1, b1, W2, b2 live in one flat float32
vector `theta` (views give the lecture's shapes), and so do their gradients and Adam's moments, so an optimiser
update is one loop over all the numbers. `state()` is a dict of copies of those vectors plus Adam's step count.
`grads(params, X, Y)` exposes the same forward/backward for tests and diagnostics; `use_tables` says when the first
layer runs as lookup tables (see kernel.py).

The constructor caps scipy's OpenBLAS at `cfg.threads` threads (`limit_blas_threads`). In overflow regimes
(parameters ~1e20) a sum of +inf and -inf inside BLAS may turn a loss non-finite a step earlier than torch's does.
"""
from __future__ import annotations

import os
import time

import numpy as np
import torch

from .config import TrainConfig
from .errors import ConfigError
from .kernel import _forward_backward, _scratch, _train
from .model import PARAM_NAMES

ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam / AdamW defaults, as ReferenceEngine uses them
ADAM_EPS = 1e-8
_OPTIMIZERS = {"sgd": 0, "adam": 1, "adamw": 2}


def _dims(shapes: dict[str, tuple[int, ...]]) -> tuple[int, int, int, int]:
    """(V, E, T, H) from the parameter shapes, checking they fit together."""
    V, E = shapes["C"]
    TE, H = shapes["W1"]
    if E < 1 or TE % E or shapes["b1"] != (H,) or shapes["W2"] != (H, V) or shapes["b2"] != (V,):
        raise ValueError(f"parameter shapes do not fit together: {shapes}")
    return V, E, TE // E, H


def _pack(params) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    arrs = {k: np.asarray(params[k].detach().cpu() if isinstance(params[k], torch.Tensor) else params[k],
                          dtype=np.float32) for k in PARAM_NAMES}
    dims = _dims({k: a.shape for k, a in arrs.items()})
    return np.concatenate([arrs[k].ravel() for k in PARAM_NAMES]), dims


def _unpack(flat: np.ndarray, dims) -> dict[str, np.ndarray]:
    V, E, T, H = dims
    sizes = {"C": (V, E), "W1": (T * E, H), "b1": (H,), "W2": (H, V), "b2": (V,)}
    out, o = {}, 0
    for k in PARAM_NAMES:
        size = int(np.prod(sizes[k]))
        out[k] = flat[o : o + size].reshape(sizes[k])
        o += size
    return out


def use_tables(V: int, E: int, T: int, H: int, B: int) -> bool:
    """Whether batches of B rows run the first layer as lookup tables. Per position and hidden unit the tables cost
    3 small products (V·E) and 2 row passes (B, weighted ×4: plain loops), the matmuls 3·B·E. Measured with
    bench/bench_fast_tables.py: 0.89× at the lecture's batch 32, 1.1× at batch 128, 2.4× at block 8/emb 32/batch 256."""
    return 3 * V * E + 8 * B < 3 * B * E


def _as_index(a, hi: int, name: str, dtype=np.int32) -> np.ndarray:
    """A contiguous integer array with every value in 0..hi-1 (the kernel does not bounds-check)."""
    a = a.cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, got {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= hi):
        raise ValueError(f"{name} has values outside 0..{hi - 1}")
    return np.ascontiguousarray(a, dtype=dtype)


def grads(params, X, Y, tables: bool | None = None) -> tuple[float, dict[str, np.ndarray]]:
    """(mean cross-entropy, {name: gradient}) for the batch X (N, block_size), Y (N,), by the kernel's own math.

    tables: force the lookup-table first layer on (True) or off (False); None picks as training does.
    """
    theta, dims = _pack(params)
    V, E, T, H = dims
    X, Y = _as_index(X, V, "X"), _as_index(Y, V, "Y")
    if X.ndim != 2 or X.shape[1] != T or Y.shape != (X.shape[0],) or not len(Y):
        raise ValueError(f"X must be (N, {T}) and Y (N,) with N ≥ 1; got {X.shape} and {Y.shape}")
    grad = np.empty_like(theta)
    scratch = _scratch(V, E, T, H, len(Y), use_tables(V, E, T, H, len(Y)) if tables is None else bool(tables))
    loss = _forward_backward(X, Y, np.arange(len(Y), dtype=np.int64), theta, grad, V, E, T, H, *scratch)
    return float(loss), {k: a.copy() for k, a in _unpack(grad, dims).items()}


_blas_threads = None


def limit_blas_threads(n: int) -> None:
    """Cap the BLAS the kernel calls (scipy's OpenBLAS) at n threads. Process-wide; numpy's own BLAS is untouched.

    At the lecture's sizes OpenBLAS already runs single-threaded; this matters for big batches/hidden layers, where
    a second thread spin-waiting next to a busy server costs more than it gives.
    """
    global _blas_threads
    if n == _blas_threads:
        return
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (load the library numba's np.dot calls)
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    blas = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
    scipys = [lib for lib in blas if "scipy" in os.path.dirname(lib.filepath)]  # scipy.libs/ or scipy/.dylibs/
    for lib in scipys or blas:
        lib.set_num_threads(n)
    _blas_threads = n


def warmup() -> float:
    """Compile (or load from numba's cache) the kernel on a tiny problem; returns the seconds it took."""
    t0 = time.perf_counter()
    for opt in ("sgd", "adam"):
        cfg = TrainConfig(optimizer=opt, steps=1)
        V, E, T, H = 3, 2, 2, 4
        g = torch.Generator().manual_seed(0)
        p = {k: torch.randn(s, generator=g) for k, s in
             {"C": (V, E), "W1": (T * E, H), "b1": (H,), "W2": (H, V), "b2": (V,)}.items()}
        eng = FastEngine(p, torch.zeros((4, T), dtype=torch.int64), torch.zeros(4, dtype=torch.int64), cfg)
        eng.run(torch.zeros((1, 2), dtype=torch.int64), np.array([0.1]))
    return time.perf_counter() - t0


class FastEngine:
    """ReferenceEngine's interface (run / state / load_state / params) on the fused numba kernel; CPU only."""

    def __init__(self, params: dict[str, torch.Tensor], Xtr: torch.Tensor, Ytr: torch.Tensor, cfg: TrainConfig,
                 tables: bool | None = None):
        """tables: run the first layer as lookup tables (True), as matmuls (False), or pick by `use_tables` (None)."""
        if cfg.device != "cpu":
            raise ConfigError("the fast engine runs on the CPU only; use engine 'reference' on an accelerator")
        if cfg.optimizer not in _OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {cfg.optimizer!r}")
        self.cfg = cfg
        self.theta, self.dims = _pack(params)
        V, E, T, H = self.dims
        self.Xtr, self.Ytr = _as_index(Xtr, V, "Xtr"), _as_index(Ytr, V, "Ytr")
        if self.Xtr.ndim != 2 or self.Xtr.shape[1] != T or self.Ytr.shape != (self.Xtr.shape[0],):
            raise ValueError(f"Xtr must be (N, {T}) and Ytr (N,); got {tuple(self.Xtr.shape)} and {tuple(self.Ytr.shape)}")
        self.grad = np.zeros_like(self.theta)
        adam = cfg.optimizer != "sgd"
        self.m = np.zeros_like(self.theta) if adam else np.zeros(0, np.float32)  # Adam's exp_avg
        self.v = np.zeros_like(self.theta) if adam else np.zeros(0, np.float32)  # Adam's exp_avg_sq
        self.t = 0  # Adam's step count
        self.tables = tables
        limit_blas_threads(cfg.threads)

    def run(self, idx: torch.Tensor, lrs: np.ndarray, interrupt: np.ndarray | None = None) -> np.ndarray:
        """interrupt: a one-element int32 array; when another thread sets it non-zero the call ends before its next
        step and returns the losses of the steps done (see trainer.py)."""
        idx = _as_index(idx, len(self.Ytr), "idx", np.int64)
        lrs = np.ascontiguousarray(lrs, dtype=np.float64)
        if idx.ndim != 2 or len(lrs) < len(idx):
            raise ValueError(f"idx must be (n, batch) with a rate per row; got {idx.shape} and {lrs.shape}")
        n = len(idx)
        if n == 0 or idx.shape[1] == 0:
            return np.zeros(0, np.float64)
        losses = np.empty(n, np.float64)
        V, E, T, H = self.dims
        done = _train(self.Xtr, self.Ytr, idx, lrs, self.theta, self.grad, self.m, self.v, V, E, T, H,
                      _OPTIMIZERS[self.cfg.optimizer], float(self.cfg.weight_decay), ADAM_BETAS[0], ADAM_BETAS[1],
                      ADAM_EPS, self.t, use_tables(V, E, T, H, idx.shape[1]) if self.tables is None else bool(self.tables),
                      losses, np.zeros(1, np.int32) if interrupt is None else interrupt)
        self.t += done
        return losses[:done]

    def state(self):
        return {"theta": self.theta.copy(), "m": self.m.copy(), "v": self.v.copy(), "t": self.t}

    def load_state(self, s) -> None:
        self.theta[:] = s["theta"]
        self.m[:] = s["m"]
        self.v[:] = s["v"]
        self.t = int(s["t"])

    def finite(self) -> bool:
        return bool(np.isfinite(self.theta).all())

    def params(self) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(a.copy()) for k, a in _unpack(self.theta, self.dims).items()}
