"""The walkthrough against the oracles: model.forward, F.cross_entropy, and the lecture's own identities."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mlp_lm.data import build_dataset
from mlp_lm.errors import DataError
from mlp_lm.model import ModelConfig, forward, init_params
from mlp_lm.walkthrough import contexts, two_ways, walk


@pytest.fixture(scope="module")
def vocab(small_ds):
    return small_ds.vocab


@pytest.fixture(scope="module", params=["lecture", "scaled"])
def params(request):
    return init_params(ModelConfig(init=request.param), seed=7)


def test_contexts_of_emma(vocab):
    assert contexts("emma", vocab, 3) == [("...", "e"), ("..e", "m"), (".em", "m"), ("emm", "a"), ("mma", ".")]


@pytest.mark.parametrize("position", range(5))
def test_every_stage_equals_model_forward(vocab, params, position):
    w = walk(params, vocab, "emma", position)
    X, Y = build_dataset(["emma"], 3, vocab)
    assert w.context == contexts("emma", vocab, 3)[position][0] and w.target == "emma."[position]
    assert w.ix.tolist() == X[position].tolist() and w.target_ix == int(Y[position])
    logits, h = forward(params, X)
    np.testing.assert_allclose(w.logits[0], logits[position].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w.h[0], h[position].numpy(), atol=1e-6)
    np.testing.assert_allclose(w.probs[0], F.softmax(logits[position], 0).numpy(), rtol=1e-4, atol=1e-7)
    ce = F.cross_entropy(logits[position : position + 1], Y[position : position + 1]).item()
    assert w.loss == pytest.approx(ce, rel=1e-4, abs=1e-5)
    assert w.p_target == pytest.approx(math.exp(-ce), rel=1e-4)
    np.testing.assert_array_equal(w.saturated, np.abs(h[position].numpy()) > 0.97)
    np.testing.assert_allclose(w.counts, np.exp(w.logits), rtol=1e-5)
    assert w.probs.sum() == pytest.approx(1.0, abs=1e-5)


def test_shapes_are_the_lectures(vocab, params):
    w = walk(params, vocab)
    shapes = {label: a.shape for label, _, a in w.stages()}
    assert shapes == {"context indices X": (3,), "embedding rows": (3, 10), "one-hot": (3, 27), "one-hot × C": (3, 10),
                      "flattened": (1, 30), "pre-activation": (1, 200), "hidden": (1, 200), "logits": (1, 27),
                      "counts": (1, 27), "probabilities": (1, 27)}
    assert not w.C_rows.flags.writeable and not w.probs.flags.writeable


def test_one_hot_times_C_is_the_row_of_C(vocab, params):
    w = walk(params, vocab, "emma", 3)
    C = params["C"].numpy()
    np.testing.assert_array_equal(w.C_rows, C[[vocab.stoi[c] for c in "emm"]])
    np.testing.assert_allclose(w.onehot_C, w.C_rows, rtol=0, atol=1e-6)
    assert w.onehot.sum() == 3 and set(np.unique(w.onehot)) == {0.0, 1.0}


def test_view_is_the_concatenation_without_a_copy(vocab, params):
    w = walk(params, vocab, "emma", 3)
    np.testing.assert_array_equal(w.emb, w.emb_cat)
    np.testing.assert_array_equal(w.emb[0], w.C_rows.reshape(-1))
    assert w.view_shares_storage and not w.cat_shares_storage
    assert w.view_strides == ((30, 10, 1), (30, 1))


def test_longer_context_and_other_names(small_ds):
    from mlp_lm.data import make_dataset

    ds8 = make_dataset(list(small_ds.words), 8)
    p = init_params(ModelConfig(block_size=8, emb_dim=4, hidden=16, init="scaled"), seed=1)
    w = walk(p, ds8.vocab, "ava", 0)
    assert w.context == "........" and w.target == "a" and w.emb.shape == (1, 32)
    w = walk(p, ds8.vocab, "ava", 3)
    assert w.context == ".....ava" and w.target == "."


def test_bad_input_is_one_clear_error(vocab, params):
    with pytest.raises(DataError, match="not in the vocabulary"):
        walk(params, vocab, "Émma")
    with pytest.raises(DataError, match="position"):
        walk(params, vocab, "emma", 5)
    with pytest.raises(DataError, match="position"):
        walk(params, vocab, "emma", -1)
    with pytest.raises(DataError):
        walk(params, vocab, "em.ma")


def test_manual_loss_equals_cross_entropy(small_ds, params):
    X, Y = small_ds.Xtr[:32], small_ds.Ytr[:32]
    r = two_ways(params, X, Y)
    logits, _ = forward(params, X)
    assert r.cross_entropy == pytest.approx(F.cross_entropy(logits, Y).item(), rel=1e-6)
    assert r.equal and r.manual == pytest.approx(r.cross_entropy, rel=1e-4)
    assert r.inf_counts == 0 and r.nan_probs == 0 and r.batch == 32


def test_offset_100_overflows_the_manual_way_only(small_ds):
    p = init_params(ModelConfig(init="scaled"), seed=7)  # logits near 0: +100 puts every one past exp's limit
    X, Y = small_ds.Xtr[:32], small_ds.Ytr[:32]
    base, shifted = two_ways(p, X, Y), two_ways(p, X, Y, offset=100.0)
    assert shifted.max_logit > 88.8 and math.isinf(shifted.max_count) and shifted.inf_counts > 0
    assert not math.isfinite(shifted.manual) and shifted.nan_probs > 0 and not shifted.equal
    assert math.isfinite(shifted.cross_entropy)
    assert shifted.cross_entropy == pytest.approx(base.cross_entropy, abs=1e-3)  # softmax ignores a constant shift
    with torch.no_grad():
        logits, _ = forward(p, X)
        assert shifted.cross_entropy == pytest.approx(F.cross_entropy(logits + 100, Y).item(), rel=1e-6)
