"""Activation health against values computed directly from the parameters (torch autograd and the engines)."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from mlp_lm.config import TrainConfig
from mlp_lm.diagnostics import RATIO_PARAMS, engine_moments, fixed_batch, health, health_due, read_initial_loss
from mlp_lm.fast import FastEngine
from mlp_lm.model import ModelConfig, hidden_layer, init_params, loss_fn
from mlp_lm.reference import ReferenceEngine


@pytest.fixture(scope="module")
def batch(small_ds):
    return fixed_batch(small_ds.Xtr, small_ds.Ytr, seed=1)


def direct_ratio(update: torch.Tensor, p: torch.Tensor) -> float:
    return math.log10(float(update.std() / p.std()))  # the lecture's (lr * p.grad).std() / p.data.std()


@pytest.mark.parametrize("init", ["lecture", "saturated", "scaled"])
def test_saturation_and_sgd_ratio_equal_direct_values(batch, init):
    Xb, Yb = batch
    p = init_params(ModelConfig(init=init), seed=3)
    hl = health(p, Xb, Yb, lr=0.1, optimizer="sgd", step=0)
    h = hidden_layer(p, Xb)
    assert hl.saturated == pytest.approx(float((h.abs() > 0.97).float().mean()), abs=1e-6)
    assert hl.h_mean == pytest.approx(float(h.mean()), abs=1e-5)
    assert hl.hist_counts.sum() == h.numel() and hl.hist_edges[0] == -1 and hl.hist_edges[-1] == 1
    np.testing.assert_array_equal(hl.hist_counts, torch.histc(h, 50, -1.0, 1.0).long().numpy())
    np.testing.assert_array_equal(hl.dead_image, (h.abs() > 0.99)[:32].numpy())
    leaf = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    loss = loss_fn(leaf, Xb, Yb)
    loss.backward()
    assert hl.loss == pytest.approx(loss.item(), rel=1e-5)
    for k in RATIO_PARAMS:
        assert hl.ratios[k] == pytest.approx(direct_ratio(0.1 * leaf[k].grad, p[k]), abs=1e-4), k


def test_the_inits_read_as_the_lecture_says(batch):
    Xb, Yb = batch
    sat = {i: health(init_params(ModelConfig(init=i)), Xb, Yb, 0.1).saturated for i in ("saturated", "scaled")}
    assert sat["saturated"] > 0.6 > 0.3 > sat["scaled"]
    lec = health(init_params(ModelConfig(init="lecture")), Xb, Yb, 0.1)
    assert "confidently wrong" in read_initial_loss(lec.loss, 27).reading and lec.loss > 15
    ok = read_initial_loss(health(init_params(ModelConfig(init="scaled")), Xb, Yb, 0.1).loss, 27)
    assert ok.reading.startswith("as expected") and ok.uniform == pytest.approx(3.2958, abs=1e-4)
    assert "not finite" in read_initial_loss(float("nan"), 27).reading


def test_dead_units_are_called_out(batch):
    Xb, Yb = batch
    p = init_params(ModelConfig(init="scaled"), seed=3)
    for j, sign in ((5, 1.0), (17, -1.0)):
        p["W1"][:, j] = 0.0
        p["b1"][j] = 10.0 * sign  # tanh(±10) = ±1 for every input: a unit that never learns
    hl = health(p, Xb, Yb, 0.1)
    assert hl.dead_units.tolist() == [5, 17]
    assert hl.dead_image.shape == (32, 200) and hl.dead_image[:, 5].all()


@pytest.mark.parametrize("engine_cls", [ReferenceEngine, FastEngine])
@pytest.mark.parametrize("optimizer,wd", [("adam", 0.0), ("adamw", 0.1), ("adam", 0.01)])
def test_adam_ratio_is_the_update_it_applied(small_ds, batch, engine_cls, optimizer, wd):
    """The ratio from the optimiser's moments equals the one measured from the parameters before and after a step."""
    Xb, Yb = batch
    cfg = TrainConfig(optimizer=optimizer, lr=3e-3, weight_decay=wd)
    eng = engine_cls(init_params(ModelConfig(init="scaled"), seed=3), small_ds.Xtr, small_ds.Ytr, cfg)
    idx = torch.randint(0, len(small_ds.Ytr), (21, 32), generator=torch.Generator().manual_seed(0))
    eng.run(idx[:20], np.full(20, 3e-3))
    before = eng.params()
    eng.run(idx[20:], np.full(1, 3e-3))
    after = eng.params()
    mom = engine_moments(eng)
    assert mom is not None and mom.t == 21
    hl = health(after, Xb, Yb, lr=3e-3, optimizer=optimizer, weight_decay=wd, opt_moments=mom)
    for k in RATIO_PARAMS:
        assert hl.ratios[k] == pytest.approx(direct_ratio(after[k] - before[k], after[k]), abs=2e-3), k


def test_adam_before_its_first_step_is_the_first_update(small_ds, batch):
    Xb, Yb = batch
    p = init_params(ModelConfig(init="scaled"), seed=3)
    cfg = TrainConfig(optimizer="adam", lr=1e-2)
    eng = ReferenceEngine(p, Xb, Yb, cfg)  # its "training set" is the fixed batch: one full-batch step
    assert engine_moments(eng) is None
    hl = health(p, Xb, Yb, lr=1e-2, optimizer="adam", opt_moments=None)
    eng.run(torch.arange(len(Yb))[None, :], np.array([1e-2]))
    after = eng.params()
    for k in RATIO_PARAMS:
        assert hl.ratios[k] == pytest.approx(direct_ratio(after[k] - p[k], p[k]), abs=1e-3), k


def test_health_is_immutable(batch):
    hl = health(init_params(ModelConfig(init="scaled")), *batch, lr=0.1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hl.saturated = 0.0
    for a in (hl.hist_counts, hl.dead_image, hl.dead_units):
        with pytest.raises(ValueError):
            a[...] = 0
    pt = hl.point()
    assert pt.step == 0 and pt.saturated == hl.saturated and pt.update_ratios == hl.update_ratios


def test_fixed_batch_is_fixed(small_ds):
    a, b = fixed_batch(small_ds.Xtr, small_ds.Ytr, 5), fixed_batch(small_ds.Xtr, small_ds.Ytr, 5)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and a[0].shape == (128, 3)


def test_health_due_keeps_the_panel_within_its_budget():
    assert health_due(trained_seconds=0.5, last_cost_seconds=0.002)       # the lecture's 10,000-step interval
    assert not health_due(trained_seconds=0.01, last_cost_seconds=0.002)  # 500 steps of a tiny model: skip
    assert health_due(0.0, 0.0)                                            # the first call (nothing measured yet)


def test_adam_constants_are_the_engines():
    from mlp_lm import diagnostics, fast

    assert (diagnostics.ADAM_BETAS, diagnostics.ADAM_EPS) == (fast.ADAM_BETAS, fast.ADAM_EPS)
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    assert opt.defaults["betas"] == diagnostics.ADAM_BETAS and opt.defaults["eps"] == diagnostics.ADAM_EPS
