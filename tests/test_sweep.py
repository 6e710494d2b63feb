"""LR range test: the caller's params stay untouched, its steps equal autograd's, suggestions are sane."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mlp_lm.data import DEFAULT_DATA, load_words, make_dataset
from mlp_lm.errors import ConfigError, DataError, MLPLMError
from mlp_lm.model import ModelConfig, init_params, loss_fn
from mlp_lm.sweep import _valley_index, lr_sweep, smooth, suggest


@pytest.fixture(scope="module")
def setup():
    ds = make_dataset(load_words(DEFAULT_DATA)[:400], 3)
    cfg = ModelConfig(vocab_size=len(ds.vocab), hidden=64)
    return ds, cfg, init_params(cfg)


def test_params_untouched_and_lengths(setup):
    ds, cfg, p = setup
    before = {k: v.clone() for k, v in p.items()}
    r = lr_sweep(p, ds, cfg, num=300, seed=1)
    for k in p:
        assert torch.equal(p[k], before[k]), k
    n = len(r.losses)
    assert 1 <= n <= 300 and r.num_requested == 300
    assert len(r.lrs) == len(r.log10_lrs) == len(r.smoothed) == n
    assert np.allclose(r.log10_lrs, np.log10(r.lrs))
    assert r.lrs[0] == pytest.approx(1e-3) and np.all(np.diff(r.lrs) > 0)
    if not r.stopped_early:
        assert n == 300 and r.lrs[-1] == pytest.approx(1.0)
    assert set(r.suggestions) == {"valley", "steepest", "minimum / 10", "lowest loss"}
    for lr, loss in r.suggestions.values():
        assert isinstance(lr, float) and isinstance(loss, float) and lr > 0


def test_deterministic_per_seed(setup):
    ds, cfg, p = setup
    a = lr_sweep(p, (ds.Xtr, ds.Ytr), cfg, num=50, seed=3)
    b = lr_sweep(p, ds, cfg, num=50, seed=3)
    c = lr_sweep(p, ds, cfg, num=50, seed=4)
    assert np.array_equal(a.losses, b.losses)
    assert not np.array_equal(a.losses, c.losses)


def test_sweep_losses_equal_autograd_steps(setup):
    """Replay the sweep's first steps with autograd and the lecture's manual update: same losses."""
    ds, cfg, p = setup
    num, B, seed = 5, 32, 11
    r = lr_sweep(p, ds, cfg, num=num, lr_min=0.01, lr_max=0.5, batch_size=B, seed=seed, diverge_factor=None)
    ix = torch.randint(0, len(ds.Ytr), (num, B), generator=torch.Generator().manual_seed(seed))
    q = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    for i, lr in enumerate(10 ** np.linspace(-2, math.log10(0.5), num)):
        loss = loss_fn(q, ds.Xtr[ix[i]], ds.Ytr[ix[i]])
        assert loss.item() == pytest.approx(r.losses[i], rel=1e-5)
        for t in q.values():
            t.grad = None
        loss.backward()
        with torch.no_grad():
            for t in q.values():
                t += -lr * t.grad


def test_adam_step_matches_torch_optim(setup):
    ds, cfg, p = setup
    r = lr_sweep(p, ds, cfg, num=3, lr_min=1e-3, lr_max=1e-2, optimizer="adam", seed=5, diverge_factor=None)
    ix = torch.randint(0, len(ds.Ytr), (3, 32), generator=torch.Generator().manual_seed(5))
    q = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    opt = torch.optim.Adam(q.values(), lr=1e-3)
    for i in range(3):
        for g in opt.param_groups:
            g["lr"] = 10 ** np.linspace(-3, -2, 3)[i]
        loss = F.cross_entropy(*_logits_targets(q, ds, ix[i]))
        assert loss.item() == pytest.approx(r.losses[i], rel=1e-5)
        opt.zero_grad()
        loss.backward()
        opt.step()


def _logits_targets(q, ds, ix):
    from mlp_lm.model import forward

    return forward(q, ds.Xtr[ix])[0], ds.Ytr[ix]


def test_early_stop_when_exploding(setup):
    ds, cfg, p = setup
    r = lr_sweep(p, ds, cfg, num=400, lr_min=1e-2, lr_max=1e4, seed=2)
    assert r.stopped_early and len(r.losses) < 400
    last = r.smoothed[-1]
    assert not np.isfinite(r.losses[-1]) or last > 4 * np.nanmin(r.smoothed[:-1])
    # nothing before the last point triggered the stop
    best = np.minimum.accumulate(r.smoothed[:-1])
    assert np.all(r.smoothed[:-1] <= 4 * best)


def test_smooth_is_debiased_ema():
    x = np.array([2.0, 4.0, 6.0])
    s = smooth(x, 0.5)
    assert s[0] == pytest.approx(2.0)  # debiasing: the first value is the first loss
    assert s[1] == pytest.approx((0.5 * 0.5 * 2 + 0.5 * 4) / (1 - 0.25))
    assert np.array_equal(smooth(x, 0.0), x)


def _u_curve(n=200):
    lrs = 10 ** np.linspace(-4, 1, n)
    x = np.log10(lrs)
    return lrs, 3.0 - 2.0 * np.tanh(2.0 * (x + 2.0)) + 3.0 * np.clip(x + 0.5, 0, None) ** 2  # falls around 1e-2, rises after ~0.3


def test_suggestions_on_u_curve():
    lrs, losses = _u_curve()
    s = suggest(lrs, losses, beta=0.0)
    i_min = int(np.argmin(losses))
    steep_lr, steep_loss = s["steepest"]
    assert steep_lr == pytest.approx(1e-2, rel=0.1)  # where tanh falls fastest
    valley_lr, _ = s["valley"]
    assert 1e-3 < valley_lr < lrs[i_min]  # in the descending part, before the minimum
    assert s["minimum / 10"][0] == pytest.approx(lrs[i_min] / 10)
    assert s["lowest loss"] == (pytest.approx(lrs[i_min]), pytest.approx(losses[i_min]))  # the lecture's reading
    for lr, loss in s.values():
        assert loss == pytest.approx(np.interp(np.log10(lr), np.log10(lrs), losses), rel=1e-3, abs=1e-3)


def test_lowest_loss_is_the_bottom_of_the_smoothed_curve_after_trimming():
    """The lecture's reading: argmin of the smoothed, trimmed curve — not a raw dip, not the trimmed ends."""
    lrs, losses = _u_curve()
    spiky = losses.copy()
    spiky[120] -= 5.0  # one lucky minibatch: smoothing must not chase it
    spiky[-3:] = -1.0  # inside the trimmed end (the smoothing is causal: earlier points do not see it)
    s = suggest(lrs, spiky, beta=0.9, skip_start=20)
    sm = smooth(spiky, 0.9)[20:-5]
    i = int(np.argmin(sm))
    assert s["lowest loss"] == (pytest.approx(lrs[20 + i]), pytest.approx(sm[i]))
    assert s["minimum / 10"][0] == pytest.approx(s["lowest loss"][0] / 10)
    assert s["lowest loss"][0] > s["valley"][0]  # the bottom lies beyond fastai's valley


def test_suggest_trims_nans_and_short_input():
    lrs, losses = _u_curve()
    with_nan = losses.copy()
    with_nan[150:] = np.nan
    s = suggest(lrs, with_nan, beta=0.0)
    assert all(np.isfinite(v[1]) for v in s.values())
    assert all(lr <= lrs[149] for lr, _ in s.values())
    # everything from the first NaN on is dropped: same as never having seen it
    assert suggest(lrs, with_nan, beta=0.0, skip_start=20, skip_end=0) == suggest(
        lrs[:150], losses[:150], beta=0.0, skip_start=20, skip_end=0
    )
    assert suggest(lrs, with_nan, beta=0.9, skip_start=20) == suggest(lrs[:150], losses[:150], beta=0.9, skip_start=20, skip_end=0)
    assert suggest(lrs[:3], losses[:3]) == {}
    assert suggest([], []) == {}
    with pytest.raises(DataError):
        suggest([1e-3, 1e-2], [1.0])


def test_valley_matches_fastai_loop():
    """Our vectorised valley against fastai's original double loop, on random and monotone curves."""

    def fastai_valley(losses):
        n = len(losses)
        max_start, max_end = 0, 0
        lds = [1] * n
        for i in range(1, n):
            for j in range(0, i):
                if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                    lds[i] = lds[j] + 1
                if lds[max_end] < lds[i]:
                    max_end = i
                    max_start = max_end - lds[max_end]
        sections = (max_end - max_start) / 3
        return max_start + int(sections) + int(sections / 2)

    rng = np.random.default_rng(0)
    curves = [rng.normal(size=60).cumsum() for _ in range(20)] + [np.linspace(5, 1, 30), smooth(rng.normal(size=80), 0.9)]
    for c in curves:
        assert _valley_index(c) == min(max(fastai_valley(list(c)), 0), len(c) - 1)


def test_bad_inputs(setup):
    ds, cfg, p = setup
    bad = [
        dict(lr_min=0), dict(lr_min=1.0, lr_max=0.1), dict(num=0), dict(batch_size=0), dict(optimizer="lion"),
        dict(beta=1.0), dict(diverge_factor=0.5), dict(seed=-1),
    ]
    for kw in bad:
        with pytest.raises(ConfigError):
            lr_sweep(p, ds, cfg, **kw)
    with pytest.raises(ConfigError):
        lr_sweep(p, ds, ModelConfig(vocab_size=len(ds.vocab)), num=5)  # hidden 200 vs params' 64
    with pytest.raises(DataError):
        lr_sweep(p, (ds.Xtr[:0], ds.Ytr[:0]), cfg, num=5)
    with pytest.raises(DataError):
        lr_sweep(p, (ds.Xtr[:, :2], ds.Ytr), cfg, num=5)
    with pytest.raises(MLPLMError):
        lr_sweep(p, "not data", cfg, num=5)
