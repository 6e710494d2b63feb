"""Overfit one batch: the lecture's sanity check, with the reason the loss stops above zero computed exactly.

    r = overfit(model_cfg, vocab)       # the lecture's first 5 names → 32 examples at block_size 3, 1,000 Adam steps
    r.steps, r.losses                   # the loss falling to its floor
    r.floor                             # the best loss any model can reach on these examples
    r.contexts                          # the contexts followed by more than one character (they cannot be fitted)

A context seen n times, followed by character c in n_c of them, costs at least -log(n_c / n) per example whatever the
model does (the empirical frequencies are the best possible prediction), so the floor is the mean over examples of
-log(n_c / n). In "emma olivia ava isabella sophia" at block_size 3, "..." is followed by e, o, a, i and s: it alone
keeps the loss above zero.
"""
from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import torch

from .config import TrainConfig
from .data import Vocab, build_dataset
from .errors import DataError
from .model import ModelConfig, evaluate, init_params
from .engines import first_engine

FIRST_FIVE = ("emma", "olivia", "ava", "isabella", "sophia")  # the lecture's words[:5]


@dataclass(frozen=True)
class ContextRow:
    context: str                       # the block_size characters, '.' padded
    seen: int                          # examples with this context
    followers: tuple[tuple[str, int], ...]  # (next character, count), most frequent first
    best_loss: float                   # mean -log(count / seen) over its examples: its entropy, in nats


@dataclass(frozen=True)
class OverfitResult:
    names: tuple[str, ...]
    n_examples: int
    steps: np.ndarray                  # (n,) step of each loss
    losses: np.ndarray                 # (n,) full-batch loss before each step's update
    final_loss: float                  # the full-batch loss after the last step
    floor: float                       # best_possible_loss of the examples
    contexts: tuple[ContextRow, ...]   # the ambiguous contexts, most examples first
    seconds: float                     # wall time of the training

    @property
    def gap(self) -> float:
        """How far above the floor the run ended."""
        return self.final_loss - self.floor


def _keys(X) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in row) for row in torch.as_tensor(X).tolist()]


def best_possible_loss(X, Y) -> float:
    """Mean over the examples of -log(empirical frequency of its next character given its context), exactly."""
    keys, ys = _keys(X), [int(y) for y in torch.as_tensor(Y).tolist()]
    if not ys:
        raise DataError("no examples")
    seen = Counter(keys)
    pairs = Counter(zip(keys, ys))
    return float(sum(-math.log(pairs[k, y] / seen[k]) for k, y in zip(keys, ys)) / len(ys))


def ambiguous_contexts(X, Y, vocab: Vocab) -> tuple[ContextRow, ...]:
    """The contexts followed by more than one character: the only ones that cost anything at the floor."""
    follow: dict[tuple[int, ...], Counter] = defaultdict(Counter)
    for k, y in zip(_keys(X), torch.as_tensor(Y).tolist()):
        follow[k][int(y)] += 1
    rows = []
    for k, cnt in follow.items():
        if len(cnt) < 2:
            continue
        n = sum(cnt.values())
        best = sum(-c * math.log(c / n) for c in cnt.values()) / n
        rows.append(ContextRow(vocab.decode(k), n, tuple((vocab.itos[y], c) for y, c in cnt.most_common()), best))
    return tuple(sorted(rows, key=lambda r: (-r.seen, r.context)))


def overfit(model_cfg: ModelConfig, vocab: Vocab, names=FIRST_FIVE, steps: int = 1_000, lr: float = 1e-2,
            seed: int = 2147483647) -> OverfitResult:
    """Train a fresh model of model_cfg's size on `names` only, every example in every step (Adam, `lr`)."""
    names = tuple(str(n) for n in names)
    X, Y = build_dataset(list(names), model_cfg.block_size, vocab)  # raises DataError for characters not in vocab
    if len(vocab) != model_cfg.vocab_size:
        raise DataError(f"the model has {model_cfg.vocab_size} characters, the vocabulary {len(vocab)}")
    cfg = TrainConfig(steps=steps, batch_size=len(Y), optimizer="adam", lr=lr, schedule="constant", seed=seed)
    engine, _ = first_engine(init_params(model_cfg, seed), X, Y, cfg)  # reference while the kernel compiles
    idx = torch.arange(len(Y)).expand(steps, len(Y))
    t0 = time.perf_counter()
    losses = engine.run(idx, np.full(steps, lr))
    seconds = time.perf_counter() - t0
    final = evaluate(engine.params(), X, Y)
    steps_ = np.arange(len(losses))
    for a in (steps_, losses):
        a.flags.writeable = False
    return OverfitResult(names, len(Y), steps_, losses, final, best_possible_loss(X, Y),
                         ambiguous_contexts(X, Y, vocab), seconds)
