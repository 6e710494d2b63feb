"""The count bigram baseline: hand-computed probabilities on a toy set, a sane dev loss on real names."""
import math

import numpy as np
import pytest

from mlp_lm.bigram import Bigram, bigram_dev_loss
from mlp_lm.data import DEFAULT_DATA, Vocab, load_words, make_dataset
from mlp_lm.errors import DataError


def test_toy_counts_and_probabilities():
    words = ["ab", "b", "aa"]
    vocab = Vocab.from_words(words)  # . a b
    m = Bigram.fit(words, vocab)
    # bigrams: .a ab b.  .b b.  .a aa a.
    expected_N = np.array([[0, 2, 1], [1, 1, 1], [2, 0, 0]])
    assert np.array_equal(m.N, expected_N)
    assert np.allclose(m.P.sum(1), 1.0)
    assert m.P[0, 1] == pytest.approx((2 + 1) / (3 + 3))  # P(a | .) with add-one
    assert m.P[2, 0] == pytest.approx((2 + 1) / (2 + 3))  # P(. | b)
    assert m.P[2, 1] == pytest.approx(1 / 5)
    # "ab": P(a|.) P(b|a) P(.|b), mean over 3 characters
    nll = -(math.log(3 / 6) + math.log(2 / 6) + math.log(3 / 5)) / 3
    assert m.nll(["ab"]) == pytest.approx(nll)
    assert math.isnan(m.nll([]))


def test_no_smoothing_is_the_raw_frequencies():
    words = ["ab", "b", "aa"]
    m = Bigram.fit(words, Vocab.from_words(words), smoothing=0)
    assert m.P[1, 0] == pytest.approx(1 / 3) and m.P[2, 1] == 0.0


def test_dev_loss_in_a_sane_range():
    ds = make_dataset(load_words(DEFAULT_DATA)[:2000], 3)
    loss = bigram_dev_loss(ds)
    assert 2.2 < loss < 2.9  # the lecture's full-data bigram is ≈2.45; uniform would be log(27) ≈ 3.30
    assert loss < math.log(len(ds.vocab)) - 0.5  # well below the uniform model


def test_unknown_characters_rejected():
    vocab = Vocab.from_words(["ab"])
    with pytest.raises(DataError, match="z"):
        Bigram.fit(["abz"], vocab)
    with pytest.raises(DataError, match="z"):
        Bigram.fit(["ab"], vocab).nll(["za"])
