"""Overfit one batch: the exact floor, the unfittable contexts, and training that reaches the floor (not zero)."""
import math

import numpy as np
import pytest
import torch

from mlp_lm.data import Vocab, build_dataset, make_dataset
from mlp_lm.errors import DataError
from mlp_lm.model import ModelConfig
from mlp_lm.overfit import FIRST_FIVE, ambiguous_contexts, best_possible_loss, overfit


def test_floor_of_the_first_five_names(small_ds):
    X, Y = build_dataset(list(FIRST_FIVE), 3, small_ds.vocab)
    assert len(Y) == 32
    assert best_possible_loss(X, Y) == pytest.approx(5 * math.log(5) / 32, abs=1e-12)  # "..." → e, o, a, i, s
    rows = ambiguous_contexts(X, Y, small_ds.vocab)
    assert [r.context for r in rows] == ["..."] and rows[0].seen == 5
    assert sorted(c for c, _ in rows[0].followers) == ["a", "e", "i", "o", "s"]
    assert rows[0].best_loss == pytest.approx(math.log(5))


def test_floor_against_a_brute_force_count():
    """A hand-made case with unequal counts: 'ab' then x (twice) or y (once); 'cd' then x."""
    v = Vocab((".", "a", "b", "c", "d", "x", "y"))
    X = torch.tensor([[1, 2], [1, 2], [1, 2], [3, 4]])
    Y = torch.tensor([5, 5, 6, 5])
    expected = (2 * -math.log(2 / 3) - math.log(1 / 3) + 0.0) / 4
    assert best_possible_loss(X, Y) == pytest.approx(expected)
    (row,) = ambiguous_contexts(X, Y, v)
    assert row.context == "ab" and row.followers == (("x", 2), ("y", 1))


@pytest.mark.parametrize("init", ["lecture", "scaled"])
def test_training_reaches_the_floor_not_zero(small_ds, init):
    r = overfit(ModelConfig(init=init), small_ds.vocab)
    assert r.n_examples == 32 and len(r.losses) == 1_000
    assert r.floor == pytest.approx(0.2515, abs=1e-4)
    assert r.final_loss - r.floor < 0.05 and r.final_loss >= r.floor - 1e-4  # at the floor, never below it
    assert r.losses[0] > 3.0 and r.losses[-1] < r.losses[0] / 5
    assert not r.losses.flags.writeable


def test_other_model_sizes_and_block_sizes(small_words):
    ds = make_dataset(small_words, 5)
    r = overfit(ModelConfig(block_size=5, emb_dim=4, hidden=64, init="scaled"), ds.vocab, steps=1_000)
    X, Y = build_dataset(list(FIRST_FIVE), 5, ds.vocab)
    assert r.floor == pytest.approx(best_possible_loss(X, Y)) and r.gap < 0.05


def test_names_outside_the_vocabulary_are_one_clear_error():
    v = Vocab((".", "a", "b"))
    with pytest.raises(DataError, match="vocabulary"):
        overfit(ModelConfig(vocab_size=3), v)


def test_losses_are_deterministic(small_ds):
    a = overfit(ModelConfig(init="scaled", hidden=32), small_ds.vocab, steps=50)
    b = overfit(ModelConfig(init="scaled", hidden=32), small_ds.vocab, steps=50)
    np.testing.assert_array_equal(a.losses, b.losses)
