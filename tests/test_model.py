"""Model: parameter count, the notebook's init draws, forward, and the two losses agreeing."""
import math

import torch
import torch.nn.functional as F

from mlp_lm.model import ModelConfig, evaluate, forward, init_params, loss_fn, manual_loss


def test_parameter_count():
    cfg = ModelConfig()
    assert cfg.n_params == 11_897
    assert sum(p.numel() for p in init_params(cfg).values()) == 11_897


def test_lecture_init_is_the_notebooks_draws():
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((27, 10), generator=g)
    W1 = torch.randn((30, 200), generator=g)
    b1 = torch.randn(200, generator=g)
    W2 = torch.randn((200, 27), generator=g)
    b2 = torch.randn(27, generator=g)
    p = init_params(ModelConfig())
    for name, ref in zip(("C", "W1", "b1", "W2", "b2"), (C, W1, b1, W2, b2)):
        assert torch.equal(p[name], ref), name


def test_scaled_init():
    lec, sc = init_params(ModelConfig()), init_params(ModelConfig(init="scaled"))
    assert torch.equal(lec["C"], sc["C"])
    assert torch.allclose(sc["W1"], lec["W1"] * (5 / 3) / math.sqrt(30))
    assert torch.allclose(sc["W2"], lec["W2"] * 0.01)
    assert torch.all(sc["b2"] == 0)


def test_forward_losses_agree():
    cfg = ModelConfig(block_size=4, emb_dim=5, hidden=16, vocab_size=12, init="scaled")
    p = init_params(cfg, seed=1)
    g = torch.Generator().manual_seed(0)
    X = torch.randint(0, 12, (64, 4), generator=g)
    Y = torch.randint(0, 12, (64,), generator=g)
    logits, h = forward(p, X)
    assert logits.shape == (64, 12) and h.shape == (64, 16) and h.abs().max() <= 1
    ref = torch.tanh(p["C"][X].view(64, -1) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    assert torch.allclose(logits, ref)
    assert torch.allclose(loss_fn(p, X, Y), manual_loss(p, X, Y), atol=1e-5)
    assert math.isclose(evaluate(p, X, Y, chunk=10), F.cross_entropy(logits, Y).item(), rel_tol=1e-5)


def test_bad_config():
    import pytest

    from mlp_lm.errors import ConfigError

    for bad in (dict(block_size=0), dict(emb_dim=-1), dict(hidden=10**6), dict(init="xavier"), dict(block_size=2.5)):
        with pytest.raises(ConfigError):
            ModelConfig(**bad)


def test_saturated_init_fixes_the_softmax_only():
    lec, sat = init_params(ModelConfig()), init_params(ModelConfig(init="saturated"))
    for k in ("C", "W1", "b1"):
        assert torch.equal(sat[k], lec[k]), k  # tanh's inputs as plain randn: saturated
    assert torch.allclose(sat["W2"], lec["W2"] * 0.01) and torch.all(sat["b2"] == 0)


def test_the_three_inits_at_the_start(small_ds):
    """Part 3's story on real data: lecture is confidently wrong (~27), saturated fixes the loss but not tanh."""
    X, Y = small_ds.Xtr[:2000], small_ds.Ytr[:2000]
    out = {}
    for init in ("lecture", "saturated", "scaled"):
        p = init_params(ModelConfig(init=init))
        logits, h = forward(p, X)
        out[init] = (F.cross_entropy(logits, Y).item(), (h.abs() > 0.97).float().mean().item())
    assert out["lecture"][0] > 15
    assert abs(out["saturated"][0] - math.log(27)) < 0.1 and abs(out["scaled"][0] - math.log(27)) < 0.1
    assert out["saturated"][1] > 0.6 and out["scaled"][1] < 0.3  # measured: 70 % and 20 % with |h| > 0.97
    assert out["lecture"][1] == out["saturated"][1]
