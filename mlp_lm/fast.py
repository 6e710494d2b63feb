"""The fast engine: the lecture's training step as one numba kernel that runs a whole chunk of steps per call.

Same interface as `ReferenceEngine` (see reference.py); CPU only. Per step, on float32 NumPy arrays:

    emb  = C[X[ix]].view(B, T*E)                  h      = tanh(emb @ W1 + b1)
    logits = h @ W2 + b2                          loss   = mean(logsumexp(logits) - logits[Y])
    dlogits = (softmax(logits) - onehot(Y)) / B   dW2    = hᵀ dlogits,   db2 = Σ_rows dlogits
    dh   = dlogits @ W2ᵀ                          dpre   = (1 - h²) · dh
    dW1  = embᵀ dpre,  db1 = Σ_rows dpre          demb   = dpre @ W1ᵀ, scattered back into the rows of C

then an SGD, Adam or AdamW update with torch's semantics. The matmuls go to BLAS (scipy's OpenBLAS, via numba's
np.dot); tanh is a vectorisable rational approximation (Eigen's, within a few float32 ulp); everything else is plain
loops. For big batches the first layer runs as lookup tables (`_use_tables`): C[X] @ W1 = Σ_t P_t[X[:, t]] with
P_t = C @ W1_t (W1_t: the rows of W1 that context position t feeds), and backward from S_t = Σ_{rows with X[:, t] = c}
dpre, the (V, H) sums per character: dW1_t = Cᵀ S_t, dC = Σ_t S_t W1_tᵀ — (V·E + 2B)·T·H operations per pass instead
of B·T·E·H, about 4× faster at block 8, emb 32, hidden 256, batch 256. The kernel is compiled with nogil=True, so a trainer thread runs it without blocking the GIL, and cache=True,
so only the first run on a machine pays the compile (a few seconds; `warmup()` triggers it on purpose).

C, W1, b1, W2, b2 live in one flat float32 vector `theta` (views give the lecture's shapes), and so do their
gradients and Adam's moments, so an optimiser update is one loop over ~12k numbers. `state()` is a dict of copies
of those vectors plus Adam's step count. `grads(params, X, Y)` exposes the same forward/backward for tests.

The constructor caps scipy's OpenBLAS at `cfg.threads` threads (`limit_blas_threads`). In overflow regimes
(parameters ~1e20) a sum of +inf and -inf inside BLAS may turn a loss non-finite a step earlier than torch's does.
"""
from __future__ import annotations

import os
import time

import numpy as np
import torch
from numba import njit

from .config import TrainConfig
from .errors import ConfigError
from .model import PARAM_NAMES

ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam / AdamW defaults, as ReferenceEngine uses them
ADAM_EPS = 1e-8
_OPTIMIZERS = {"sgd": 0, "adam": 1, "adamw": 2}
_JIT = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")  # x/0 gives inf, no raise: divisions vectorise


# ---------------------------------------------------------------------------------------------------- kernel

@njit(inline="always", **_JIT)
def _tanh(x):
    """tanh in float32 as a 13/6 rational function (Eigen's fast tanh): max error ~4e-7, and it vectorises."""
    c = np.float32(7.90531110763549805)  # beyond this tanh rounds to ±1 in float32
    x = c if x > c else x
    x = -c if x < -c else x
    x2 = x * x
    p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
    p = x2 * p + np.float32(-8.60467152213735e-11)
    p = x2 * p + np.float32(5.12229709037114e-08)
    p = x2 * p + np.float32(1.48572235717979e-05)
    p = x2 * p + np.float32(6.37261928875436e-04)
    p = x2 * p + np.float32(4.89352455891786e-03)
    q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
    q = x2 * q + np.float32(2.26843463243900e-03)
    q = x2 * q + np.float32(4.89352518554385e-03)
    return x * p / q


@njit(**_JIT)
def _views(theta, V, E, T, H):
    """C, W1, b1, W2, b2 as views into the flat vector theta."""
    o1 = V * E
    o2 = o1 + T * E * H
    o3 = o2 + H
    o4 = o3 + H * V
    return (theta[:o1].reshape((V, E)), theta[o1:o2].reshape((T * E, H)), theta[o2:o3],
            theta[o3:o4].reshape((H, V)), theta[o4 : o4 + V])


@njit(**_JIT)
def _forward_backward(X, Y, rows, theta, grad, V, E, T, H, emb, h, dl, dh, demb, P, gCt):
    """Loss of the examples X[rows], Y[rows]; writes the gradient of every parameter into `grad` (same layout).

    emb (B, T*E), h (B, H), dl (B, V), dh (B, H) and demb (B, T*E) are scratch buffers, B = len(rows); P (T, V, H)
    and gCt (V, E) too when P has rows: then the first layer runs as lookup tables (see the module docstring).
    """
    B = rows.shape[0]
    C, W1, b1, W2, b2 = _views(theta, V, E, T, H)
    gC, gW1, gb1, gW2, gb2 = _views(grad, V, E, T, H)
    tables = P.shape[0] > 0
    # forward: h = tanh(C[X].view(B, T*E) @ W1 + b1), logits = h @ W2 + b2 (kept in dl)
    if tables:
        for t in range(T):
            np.dot(C, W1[t * E : (t + 1) * E], P[t])  # P_t = C @ W1_t: what each character adds at position t
        for r in range(B):
            hr = h[r]
            hr[:] = b1
            for t in range(T):
                Pt = P[t, X[rows[r], t]]
                for j in range(H):
                    hr[j] += Pt[j]
            for j in range(H):
                hr[j] = _tanh(hr[j])
    else:
        for r in range(B):
            for t in range(T):
                c = X[rows[r], t]
                for e in range(E):
                    emb[r, t * E + e] = C[c, e]
        np.dot(emb, W1, h)
        for r in range(B):
            for j in range(H):
                h[r, j] = _tanh(h[r, j] + b1[j])
    np.dot(h, W2, dl)
    # cross-entropy, then dl = (softmax - onehot) / B in place
    total = 0.0
    inv_b = np.float32(1.0 / B)
    for r in range(B):
        z = dl[r]
        for v in range(V):
            z[v] += b2[v]
        zmax = z[0]
        for v in range(1, V):
            zmax = max(zmax, z[v])
        y = Y[rows[r]]
        zy = z[y] - zmax
        s = np.float32(0.0)
        for v in range(V):
            z[v] = np.exp(z[v] - zmax)
            s += z[v]
        total += np.log(s) - zy  # logsumexp(logits) - logits[y], finite even where softmax[y] underflows
        scale = inv_b / s
        for v in range(V):
            z[v] *= scale
        z[y] -= inv_b
    # backward
    np.dot(dl, W2.T, dh)           # before W2 changes
    np.dot(h.T, dl, gW2)
    gb2[:] = 0.0
    for r in range(B):
        for v in range(V):
            gb2[v] += dl[r, v]
    gb1[:] = 0.0
    for r in range(B):
        for j in range(H):
            d = (np.float32(1.0) - h[r, j] * h[r, j]) * dh[r, j]
            dh[r, j] = d
            gb1[j] += d
    gC[:] = 0.0
    if tables:  # P becomes S_t: the sums of dpre per character at position t
        P[:] = 0.0
        for r in range(B):
            for t in range(T):
                St = P[t, X[rows[r], t]]
                for j in range(H):
                    St[j] += dh[r, j]
        for t in range(T):
            np.dot(C.T, P[t], gW1[t * E : (t + 1) * E])  # dW1_t = Cᵀ S_t
            np.dot(P[t], W1[t * E : (t + 1) * E].T, gCt)  # dC += S_t W1_tᵀ
            for c in range(V):
                for e in range(E):
                    gC[c, e] += gCt[c, e]
        return total / B
    np.dot(dh, W1.T, demb)
    np.dot(emb.T, dh, gW1)
    for r in range(B):
        for t in range(T):
            c = X[rows[r], t]
            for e in range(E):
                gC[c, e] += demb[r, t * E + e]
    return total / B


@njit(**_JIT)
def _scratch(V, E, T, H, B, tables):
    """The buffers of _forward_backward for batches of B rows: emb, h, dl, dh, demb, P, gCt (empty if unused)."""
    te, nt, ne = (0, T, E) if tables else (T * E, 0, 0)
    f = np.float32
    return (np.empty((B, te), f), np.empty((B, H), f), np.empty((B, V), f), np.empty((B, H), f),
            np.empty((B, te), f), np.empty((nt, V, H), f), np.empty((V, ne), f))


@njit(**_JIT)
def _train(X, Y, idx, lrs, theta, grad, m, v, V, E, T, H, opt, wd, beta1, beta2, eps, t0, tables, losses):
    """One optimisation step per row of idx; returns the number done (stops before updating on a non-finite loss).

    opt: 0 sgd, 1 adam, 2 adamw; t0: Adam's step count before this call; tables: the lookup-table first layer.
    """
    n, B = idx.shape
    emb, h, dl, dh, demb, P, gCt = _scratch(V, E, T, H, B, tables)
    nP = theta.shape[0]
    wd32 = np.float32(wd)
    for s in range(n):
        loss = _forward_backward(X, Y, idx[s], theta, grad, V, E, T, H, emb, h, dl, dh, demb, P, gCt)
        if not np.isfinite(loss):
            return s
        losses[s] = loss
        lr = lrs[s]
        if opt == 0:  # the lecture: p -= lr * (grad + wd * p)
            a = np.float32(-lr)
            if wd == 0.0:
                for i in range(nP):
                    theta[i] += a * grad[i]
            else:
                for i in range(nP):
                    theta[i] += a * (grad[i] + wd32 * theta[i])
        else:  # torch.optim.Adam (L2 added to the gradient) / AdamW (decoupled decay), single-tensor path
            t = t0 + s + 1
            step_size = np.float32(lr / (1.0 - beta1**t))
            inv_bc2_sqrt = np.float32(1.0 / np.sqrt(1.0 - beta2**t))
            w1, b2_, w2, e32 = np.float32(1.0 - beta1), np.float32(beta2), np.float32(1.0 - beta2), np.float32(eps)
            keep = np.float32(1.0 - lr * wd)
            l2 = opt == 1 and wd != 0.0     # Adam: grad += wd * p
            decay = opt == 2 and wd != 0.0  # AdamW: p *= 1 - lr * wd
            for i in range(nP):
                p = theta[i]
                g = grad[i]
                if l2:
                    g += wd32 * p
                if decay:
                    p *= keep
                mi = m[i] + w1 * (g - m[i])  # exp_avg.lerp_(grad, 1 - beta1)
                vi = v[i] * b2_ + w2 * g * g  # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                m[i] = mi
                v[i] = vi
                theta[i] = p - step_size * (mi / (np.sqrt(vi) * inv_bc2_sqrt + e32))
    return n


# ---------------------------------------------------------------------------------------------------- Python side

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

    def run(self, idx: torch.Tensor, lrs: np.ndarray) -> np.ndarray:
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
                      losses)
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
