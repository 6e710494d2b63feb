"""The counting bigram model of makemore part 1: the baseline the MLP has to beat.

N[i, j] counts how often character j follows character i in the training names (with '.' at both ends);
P = (N + 1) / row sums is the add-one ("model smoothing") estimate. Its loss is the mean negative log-likelihood
per character, the number the lecture compares the MLP's dev loss against (≈2.45).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .data import Vocab, build_dataset
from .errors import DataError


@dataclass
class Bigram:
    vocab: Vocab
    N: np.ndarray   # (V, V) int64 counts, row = current character, column = next
    P: np.ndarray   # (V, V) float64 smoothed next-character probabilities, rows sum to 1

    @classmethod
    def fit(cls, train_words, vocab: Vocab, smoothing: float = 1.0) -> "Bigram":
        """Count the bigrams of `train_words` (each as '.' + word + '.') and add `smoothing` to every count."""
        if not isinstance(smoothing, (int, float)) or not math.isfinite(smoothing) or smoothing < 0:
            raise DataError(f"smoothing must be a finite number ≥ 0, got {smoothing!r}")
        V = len(vocab)
        X, Y = _pairs(train_words, vocab)
        N = np.bincount(X * V + Y, minlength=V * V).reshape(V, V).astype(np.int64)
        counts = N + smoothing
        rows = counts.sum(1, keepdims=True)
        P = np.divide(counts, rows, out=np.full((V, V), 1.0 / V), where=rows > 0)  # an unseen row → uniform
        return cls(vocab, N, P)

    def nll(self, words) -> float:
        """Mean negative log-likelihood per character (including each final '.'); nan for no words."""
        X, Y = _pairs(words, self.vocab)
        if len(Y) == 0:
            return float("nan")
        return float(-np.log(self.P[X, Y]).mean())


def _pairs(words, vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """(previous, next) index pairs: the lecture's `for ch1, ch2 in zip(chs, chs[1:])` as a block_size-1 dataset."""
    words = list(words)
    used = set("".join(words))
    missing = sorted(used - set(vocab.itos[1:]))
    if missing:
        raise DataError(f"the names use characters not in the vocabulary: {''.join(missing)!r}")
    X, Y = build_dataset(words, 1, vocab)
    return X[:, 0].numpy(), Y.numpy()


def bigram_dev_loss(dataset) -> float:
    """The bigram baseline on a `Dataset`: fitted on its training names, scored on its dev names."""
    if not dataset.dev_words:
        raise DataError("the dataset has no dev names to score")
    return Bigram.fit(dataset.train_words, dataset.vocab).nll(dataset.dev_words)
