"""The forward pass step by step, on one example, with the model's real numbers: what makemore part 2 shows in cells.

    w = walk(params, vocab, "emma", position=3)    # context "emm" → target "a" (block_size 3)
    w.C_rows, w.emb, w.hpreact, w.h, w.logits, w.probs, w.loss   # every stage, NumPy, shapes as in the lecture
    w.stages()                                     # (label, code, array) in order, for a page to draw with shapes
    two_ways(params, X, Y)                         # manual softmax → log → mean vs F.cross_entropy on a minibatch
    two_ways(params, X, Y, offset=100.0)           # the manual way overflows (inf/nan), F.cross_entropy does not

Everything is computed with torch, the same ops as `model.forward`, on the CPU in float32, and returned as plain
read-only NumPy arrays and floats in frozen dataclasses, so a page can render them without touching tensors.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .data import TERMINATOR, Vocab
from .errors import DataError

SATURATED = 0.97  # |h| above this counts as a saturated tanh unit (part 3)
EXAMPLE = "emma"  # the lecture's example name


def _ro(t) -> np.ndarray:
    a = np.array(t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t)
    a.flags.writeable = False
    return a


def _cpu(params) -> dict[str, torch.Tensor]:
    return {k: torch.as_tensor(v).detach().to("cpu", torch.float32) for k, v in params.items()}


def block_size_of(params) -> int:
    """block_size from the shapes: W1 has block_size * emb_dim rows."""
    return int(params["W1"].shape[0]) // int(params["C"].shape[1])


def contexts(name: str, vocab: Vocab, block_size: int) -> list[tuple[str, str]]:
    """Every (context, next character) pair of a name, as the lecture prints them: '...' → 'e', '..e' → 'm', …"""
    ix = [0] * block_size
    out = []
    for ch in name + TERMINATOR:
        out.append(("".join(vocab.itos[i] for i in ix), ch))
        ix = ix[1:] + [vocab.stoi[ch]]
    return out


@dataclass(frozen=True)
class Walkthrough:
    """One example through the model; the comments give each field's shape (T = block_size, E = emb_dim, H, V)."""

    name: str
    position: int            # which character of name + '.' is predicted (0: the first)
    itos: tuple[str, ...]    # the vocabulary, index → character
    context: str             # the block_size characters the model sees ('.' pads the start)
    target: str              # the true next character
    ix: np.ndarray           # (T,) stoi of the context: the row X of the lecture
    target_ix: int           # stoi of the target: Y
    C_rows: np.ndarray       # (T, E) C[X]: one row of C per context character
    onehot: np.ndarray       # (T, V) F.one_hot(X, V).float()
    onehot_C: np.ndarray     # (T, E) F.one_hot(X) @ C, equal to C[X] (the lecture's first way to embed)
    emb: np.ndarray          # (1, T*E) C[X].view(-1, T*E): the rows laid end to end
    emb_cat: np.ndarray      # (1, T*E) torch.cat(torch.unbind(C[X], 1), 1): the same numbers, built by copying
    view_shares_storage: bool  # True: .view reuses C[X]'s memory (no copy, any size, O(1))
    cat_shares_storage: bool   # False: cat allocates a new tensor and copies every number
    view_strides: tuple[tuple[int, ...], tuple[int, ...]]  # strides before and after .view: only the shape changes
    hpreact: np.ndarray      # (1, H) emb @ W1 + b1
    h: np.ndarray            # (1, H) torch.tanh(hpreact)
    saturated: np.ndarray    # (H,) bool |h| > 0.97: units in tanh's flat tails, where (1 - h²) kills the gradient
    logits: np.ndarray       # (1, V) h @ W2 + b2
    counts: np.ndarray       # (1, V) logits.exp(): "fake counts", positive
    probs: np.ndarray        # (1, V) counts / counts.sum(1, keepdims=True): sums to 1
    p_target: float          # probs[0, Y]: the probability given to the true next character
    loss: float              # -log(p_target): this example's cross-entropy

    @property
    def block_size(self) -> int:
        return len(self.ix)

    @property
    def n_saturated(self) -> int:
        return int(self.saturated.sum())

    def stages(self) -> list[tuple[str, str, np.ndarray]]:
        """(label, the lecture's code, value) for each stage in order; value.shape is the tensor's shape."""
        T, E = self.C_rows.shape
        return [
            ("context indices X", f"X = [stoi[ch] for ch in {self.context!r}]", self.ix),
            ("embedding rows", "emb = C[X]", self.C_rows),
            ("one-hot", f"F.one_hot(X, num_classes={self.onehot.shape[1]}).float()", self.onehot),
            ("one-hot × C", "F.one_hot(X, V).float() @ C  # == C[X]", self.onehot_C),
            ("flattened", f"emb.view(-1, {T * E})  # {T} × {E}", self.emb),
            ("pre-activation", "hpreact = emb @ W1 + b1", self.hpreact),
            ("hidden", "h = torch.tanh(hpreact)", self.h),
            ("logits", "logits = h @ W2 + b2", self.logits),
            ("counts", "counts = logits.exp()", self.counts),
            ("probabilities", "probs = counts / counts.sum(1, keepdims=True)", self.probs),
        ]


def walk(params, vocab: Vocab, name: str = EXAMPLE, position: int = 3) -> Walkthrough:
    """The forward pass of one example: the context of character `position` of `name` + '.' → that character.

    Raises DataError (one line) for a name with characters outside the vocabulary or a position out of range.
    """
    name = str(name).strip()
    if TERMINATOR in name:
        raise DataError(f"a name may not contain '{TERMINATOR}': the model reserves it for the start and end")
    vocab.encode(name)  # raises DataError naming the unknown characters
    if not isinstance(position, (int, np.integer)) or not 0 <= position <= len(name):
        raise DataError(f"position must be a whole number from 0 to {len(name)} for {name!r}, got {position!r}")
    p = _cpu(params)
    T = block_size_of(p)
    context, target = contexts(name, vocab, T)[position]
    V, E = p["C"].shape
    X = torch.tensor([[vocab.stoi[c] for c in context]])             # (1, T)
    Y = vocab.stoi[target]
    with torch.no_grad():
        emb3 = p["C"][X]                                                # (1, T, E)
        onehot = F.one_hot(X[0], num_classes=V).float()                # (T, V)
        emb = emb3.view(-1, T * E)                                     # (1, T*E): a view, no copy
        emb_cat = torch.cat(torch.unbind(emb3, 1), 1)                 # the lecture's first attempt
        hpreact = emb @ p["W1"] + p["b1"]
        h = torch.tanh(hpreact)
        logits = h @ p["W2"] + p["b2"]
        counts = logits.exp()
        probs = counts / counts.sum(1, keepdims=True)
    p_target = float(probs[0, Y])
    return Walkthrough(
        name=name, position=int(position), itos=tuple(vocab.itos), context=context, target=target,
        ix=_ro(X[0]), target_ix=Y, C_rows=_ro(emb3[0]), onehot=_ro(onehot), onehot_C=_ro(onehot @ p["C"]),
        emb=_ro(emb), emb_cat=_ro(emb_cat),
        view_shares_storage=emb.untyped_storage().data_ptr() == emb3.untyped_storage().data_ptr(),
        cat_shares_storage=emb_cat.untyped_storage().data_ptr() == emb3.untyped_storage().data_ptr(),
        view_strides=(tuple(emb3.stride()), tuple(emb.stride())),
        hpreact=_ro(hpreact), h=_ro(h), saturated=_ro(h[0].abs() > SATURATED), logits=_ro(logits),
        counts=_ro(counts), probs=_ro(probs), p_target=p_target,
        loss=float(-torch.log(probs[0, Y])),
    )


@dataclass(frozen=True)
class TwoWays:
    """The mean loss of a minibatch computed the lecture's manual way and with F.cross_entropy."""

    batch: int              # examples in the minibatch
    offset: float           # added to every logit (softmax is unchanged by it; the manual way may not survive it)
    max_logit: float        # the largest logit after the offset
    max_count: float        # the largest logits.exp(): inf once a logit passes ~88.7 (float32's exp limit)
    inf_counts: int         # how many counts overflowed to inf
    nan_probs: int          # how many probabilities became nan (inf / inf)
    manual: float           # -probs[range(N), Y].log().mean() after counts = logits.exp(); probs = counts / sum
    cross_entropy: float    # F.cross_entropy(logits, Y): subtracts the max logit first, so it stays finite

    @property
    def equal(self) -> bool:
        """The two agree (to float32 rounding)."""
        return bool(np.isfinite(self.manual) and abs(self.manual - self.cross_entropy) <= 1e-4 * max(1.0, abs(self.manual)))


def two_ways(params, X, Y, offset: float = 0.0) -> TwoWays:
    """Manual softmax → log → mean vs F.cross_entropy on the minibatch X (N, block_size), Y (N,)."""
    p = _cpu(params)
    X, Y = torch.as_tensor(X).cpu(), torch.as_tensor(Y).cpu()
    if X.ndim != 2 or Y.shape != (X.shape[0],) or not len(Y):
        raise DataError(f"X must be (N, block_size) and Y (N,) with N ≥ 1; got {tuple(X.shape)} and {tuple(Y.shape)}")
    with torch.no_grad():
        emb = p["C"][X]
        h = torch.tanh(emb.view(emb.shape[0], -1) @ p["W1"] + p["b1"])
        logits = h @ p["W2"] + p["b2"] + float(offset)
        counts = logits.exp()
        prob = counts / counts.sum(1, keepdims=True)
        manual = -prob[torch.arange(len(Y)), Y].log().mean()
        ce = F.cross_entropy(logits, Y)
    return TwoWays(batch=len(Y), offset=float(offset), max_logit=float(logits.max()), max_count=float(counts.max()),
                   inf_counts=int(torch.isinf(counts).sum()), nan_probs=int(torch.isnan(prob).sum()),
                   manual=float(manual), cross_entropy=float(ce))
