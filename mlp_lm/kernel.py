"""The fast engine's numba kernel: the lecture's forward/backward and optimiser update for a whole chunk of steps.

Per step, on float32 NumPy arrays (fast.py packs the parameters and drives it):

    emb  = C[X[ix]].view(B, T*E)                  h      = tanh(emb @ W1 + b1)
    logits = h @ W2 + b2                          loss   = mean(logsumexp(logits) - logits[Y])
    dlogits = (softmax(logits) - onehot(Y)) / B   dW2    = hᵀ dlogits,   db2 = Σ_rows dlogits
    dh   = dlogits @ W2ᵀ                          dpre   = (1 - h²) · dh
    dW1  = embᵀ dpre,  db1 = Σ_rows dpre          demb   = dpre @ W1ᵀ, scattered back into the rows of C

then an SGD, Adam or AdamW update with torch's semantics. The matmuls go to BLAS (scipy's OpenBLAS, via numba's
np.dot); tanh is a vectorisable rational approximation (Eigen's, within a few float32 ulp); everything else is plain
loops. For big batches the first layer runs as lookup tables (fast.use_tables decides): C[X] @ W1 = Σ_t P_t[X[:, t]]
with P_t = C @ W1_t (W1_t: the E rows of W1 that context position t feeds), and backward from S_t, the (V, H) sums of
dpre over the rows whose character at position t is c: dW1_t = Cᵀ S_t, dC = Σ_t S_t W1_tᵀ, db1 = Σ_rows dpre. That
is (3·V·E + 2·B)·T·H operations per step instead of 3·B·T·E·H: 2.4–3× faster at block 8, emb 32, batch 256.

Compiled with nogil=True, so a trainer thread runs it without holding the GIL, and cache=True, so only the first
run on a machine pays the compile (a few seconds; fast.warmup() triggers it on purpose).
"""
import numpy as np
from numba import njit

_JIT = dict(nogil=True, cache=True, fastmath=False, error_model="numpy")  # x/0 gives inf, no raise: divisions vectorise


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
def _train(X, Y, idx, lrs, theta, grad, m, v, V, E, T, H, opt, wd, beta1, beta2, eps, t0, tables, losses, stop):
    """One optimisation step per row of idx; returns the number done (stops before updating on a non-finite loss).

    opt: 0 sgd, 1 adam, 2 adamw; t0: Adam's step count before this call; tables: the lookup-table first layer;
    stop: a one-element array another thread may set to non-zero to end the call before its next step (pause/stop).
    """
    n, B = idx.shape
    emb, h, dl, dh, demb, P, gCt = _scratch(V, E, T, H, B, tables)
    nP = theta.shape[0]
    wd32 = np.float32(wd)
    for s in range(n):
        if stop[0] != 0:
            return s
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
