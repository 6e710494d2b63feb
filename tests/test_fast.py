"""The fast engine (mlp_lm/fast.py) against autograd and against ReferenceEngine."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from mlp_lm.config import TrainConfig
from mlp_lm.data import load_dataset
from mlp_lm.errors import ConfigError
from mlp_lm.fast import FastEngine, grads
from mlp_lm.model import PARAM_NAMES, ModelConfig, init_params, loss_fn
from mlp_lm.reference import ReferenceEngine


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def ds():
    return load_dataset(None, 3)


def random_params(T, E, H, V, seed):
    g = torch.Generator().manual_seed(seed)
    shapes = {"C": (V, E), "W1": (T * E, H), "b1": (H,), "W2": (H, V), "b2": (V,)}
    return {k: torch.randn(s, generator=g) * (0.5 if k != "C" else 1.0) for k, s in shapes.items()}


def minibatches(n_rows, n, batch, seed=5):
    return torch.randint(0, n_rows, (n, batch), generator=torch.Generator().manual_seed(seed))


def assert_params_close(a, b, rtol=1e-4, atol=1e-5):
    for k in PARAM_NAMES:
        np.testing.assert_allclose(np.asarray(a[k]), np.asarray(b[k]), rtol=rtol, atol=atol, err_msg=k)


# --------------------------------------------------------------------------------------------- gradients

@pytest.mark.parametrize(
    "T,E,H,V,B",
    [(1, 2, 8, 5, 1), (2, 16, 64, 40, 7), (3, 10, 32, 27, 32), (5, 4, 8, 12, 3), (4, 7, 50, 33, 1), (3, 3, 17, 6, 64),
     (8, 32, 64, 27, 256)],
)
@pytest.mark.parametrize("tables", [False, True])  # the first layer as matmuls and as lookup tables
def test_grads_match_autograd(T, E, H, V, B, tables):
    seed = T * 1000 + E * 100 + H
    params = random_params(T, E, H, V, seed)
    g = torch.Generator().manual_seed(seed + 1)
    X = torch.randint(0, V, (B, T), generator=g)
    Y = torch.randint(0, V, (B,), generator=g)
    leaf = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    loss = loss_fn(leaf, X, Y)
    loss.backward()
    fast_loss, fast_grads = grads(params, X, Y, tables=tables)
    assert fast_loss == pytest.approx(loss.item(), rel=1e-5, abs=1e-5)
    assert set(fast_grads) == set(PARAM_NAMES)
    for k in PARAM_NAMES:
        assert fast_grads[k].shape == tuple(params[k].shape)
        scale = float(leaf[k].grad.abs().max()) + 1e-3
        np.testing.assert_allclose(fast_grads[k], leaf[k].grad.numpy(), rtol=1e-4, atol=1e-5 * scale, err_msg=k)


def test_grads_accepts_numpy_and_keeps_input():
    params = {k: v.numpy() for k, v in random_params(2, 3, 8, 5, 0).items()}
    before = {k: v.copy() for k, v in params.items()}
    X, Y = np.array([[0, 1], [4, 2]]), np.array([3, 0])
    loss, g = grads(params, X, Y)
    assert np.isfinite(loss) and all(np.isfinite(v).all() for v in g.values())
    for k in PARAM_NAMES:
        np.testing.assert_array_equal(params[k], before[k])


def test_grads_rejects_bad_indices():
    params = random_params(2, 3, 8, 5, 0)
    with pytest.raises(ValueError):
        grads(params, np.array([[0, 5]]), np.array([0]))
    with pytest.raises(ValueError):
        grads(params, np.array([[0, 1, 2]]), np.array([0]))


# --------------------------------------------------------------------------------------------- against ReferenceEngine

@pytest.mark.parametrize(
    "optimizer,wd,lr",
    [("sgd", 0.0, 0.1), ("sgd", 0.01, 0.1), ("adam", 0.01, 0.01), ("adamw", 0.1, 0.01), ("adam", 0.0, 0.003)],
)
def test_run_matches_reference(ds, optimizer, wd, lr):
    params = init_params(ModelConfig(vocab_size=len(ds.vocab)))
    cfg = TrainConfig(optimizer=optimizer, weight_decay=wd, lr=lr)
    ref, fast = ReferenceEngine(params, ds.Xtr, ds.Ytr, cfg), FastEngine(params, ds.Xtr, ds.Ytr, cfg)
    idx = minibatches(len(ds.Ytr), 50, 32)
    lrs = np.linspace(lr, lr / 4, 50)
    for part in (slice(0, 20), slice(20, 50)):  # two calls: Adam's step count must carry over
        lr_ref, lr_fast = ref.run(idx[part], lrs[part]), fast.run(idx[part], lrs[part])
        assert lr_fast.dtype == np.float64 and lr_fast.shape == lr_ref.shape
        np.testing.assert_allclose(lr_fast, lr_ref, rtol=1e-5, atol=1e-4)
    assert_params_close(fast.params(), ref.params())


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_lookup_tables_match_reference_at_beyond_sizes(ds, optimizer):
    """Block 8, emb 32, batch 256: the sizes where use_tables picks the lookup-table first layer."""
    from mlp_lm.data import load_dataset
    from mlp_lm.fast import use_tables

    ds8 = load_dataset(None, 8)
    mcfg = ModelConfig(block_size=8, emb_dim=32, hidden=64, vocab_size=len(ds8.vocab), init="scaled")
    assert use_tables(27, 32, 8, 64, 256) and not use_tables(27, 10, 3, 200, 32)
    cfg = TrainConfig(optimizer=optimizer, weight_decay=0.1, lr=0.05 if optimizer == "sgd" else 5e-3, batch_size=256)
    params = init_params(mcfg, 7)
    ref, fast = ReferenceEngine(params, ds8.Xtr, ds8.Ytr, cfg), FastEngine(params, ds8.Xtr, ds8.Ytr, cfg)
    forced = FastEngine(params, ds8.Xtr, ds8.Ytr, cfg, tables=False)
    idx, lrs = minibatches(len(ds8.Ytr), 30, 256), np.full(30, cfg.lr)
    losses = ref.run(idx, lrs)
    np.testing.assert_allclose(fast.run(idx, lrs), losses, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(forced.run(idx, lrs), losses, rtol=1e-5, atol=1e-4)
    assert_params_close(fast.params(), ref.params())
    assert_params_close(forced.params(), fast.params())


def test_other_shapes_and_batch_one_match_reference():
    g = torch.Generator().manual_seed(3)
    V, T = 9, 2
    X, Y = torch.randint(0, V, (300, T), generator=g), torch.randint(0, V, (300,), generator=g)
    params = random_params(T, 4, 16, V, 3)
    for batch in (1, 5):
        cfg = TrainConfig(optimizer="adamw", weight_decay=0.05, lr=0.01)
        ref, fast = ReferenceEngine(params, X, Y, cfg), FastEngine(params, X, Y, cfg)
        idx, lrs = minibatches(300, 40, batch), np.full(40, 0.01)
        np.testing.assert_allclose(fast.run(idx, lrs), ref.run(idx, lrs), rtol=1e-5, atol=1e-4)
        assert_params_close(fast.params(), ref.params())


# --------------------------------------------------------------------------------------------- non-finite losses

def test_nan_parameter_stops_before_update(ds):
    params = init_params(ModelConfig(vocab_size=len(ds.vocab)))
    params["b2"][3] = float("nan")
    fast = FastEngine(params, ds.Xtr, ds.Ytr, TrainConfig())
    before = fast.params()
    losses = fast.run(minibatches(len(ds.Ytr), 10, 32), np.full(10, 0.1))
    assert len(losses) == 0
    for k in PARAM_NAMES:
        torch.testing.assert_close(fast.params()[k], before[k], equal_nan=True, rtol=0, atol=0)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_nan_reached_mid_chunk(optimizer):
    """A NaN row of C poisons only the minibatches that use that character: the run stops at the first of them."""
    V, T = 6, 2
    g = torch.Generator().manual_seed(11)
    X = torch.randint(0, V - 1, (200, T), generator=g)  # character V-1 appears only in row 150
    X[150, 0] = V - 1
    Y = torch.randint(0, V, (200,), generator=g)
    params = random_params(T, 3, 8, V, 11)
    params["C"][V - 1] = float("nan")
    idx = minibatches(150, 12, 4, seed=2)
    idx[7, 1] = 150
    cfg = TrainConfig(optimizer=optimizer, weight_decay=0.01, lr=0.05)
    ref, fast = ReferenceEngine(params, X, Y, cfg), FastEngine(params, X, Y, cfg)
    lrs = np.full(12, 0.05)
    got, want = fast.run(idx, lrs), ref.run(idx, lrs)
    assert len(got) == len(want) == 7
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # the failing step made no update: same parameters as running only the first 7 steps
    fresh = FastEngine(params, X, Y, cfg)
    fresh.run(idx[:7], lrs[:7])
    for k in PARAM_NAMES:
        torch.testing.assert_close(fast.params()[k], fresh.params()[k], equal_nan=True, rtol=0, atol=0)


def test_huge_learning_rate_diverges_without_the_bad_update(ds):
    params = init_params(ModelConfig(vocab_size=len(ds.vocab)))
    # 1e38: the first update alone puts W2 near float32's limit, so the logits overflow within a step or two on any
    # CPU. (At 1e30, on an AVX-512 EPYC, the tanh layer saturated after one step and W1 stopped moving, so the loss
    # only grew linearly: still finite after 20 steps.)
    idx, lrs = minibatches(len(ds.Ytr), 20, 32), np.full(20, 1e38)
    fast = FastEngine(params, ds.Xtr, ds.Ytr, TrainConfig())
    losses = fast.run(idx, lrs)
    assert 0 < len(losses) < 20 and np.isfinite(losses).all()
    fresh = FastEngine(params, ds.Xtr, ds.Ytr, TrainConfig())
    np.testing.assert_array_equal(fresh.run(idx[: len(losses)], lrs[: len(losses)]), losses)
    for k in PARAM_NAMES:
        torch.testing.assert_close(fast.params()[k], fresh.params()[k], equal_nan=True, rtol=0, atol=0)


# --------------------------------------------------------------------------------------------- state, params, misc

@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
def test_state_round_trip(ds, optimizer):
    params = init_params(ModelConfig(vocab_size=len(ds.vocab)))
    cfg = TrainConfig(optimizer=optimizer, weight_decay=0.01, lr=0.01)
    fast = FastEngine(params, ds.Xtr, ds.Ytr, cfg)
    idx, lrs = minibatches(len(ds.Ytr), 30, 32), np.full(30, 0.01)
    fast.run(idx[:10], lrs[:10])
    s = fast.state()
    first = fast.run(idx[10:20], lrs[10:20])
    p_first = fast.params()
    fast.run(idx[20:], lrs[20:])  # moves on; the saved state must not move with it
    fast.load_state(s)
    again = fast.run(idx[10:20], lrs[10:20])
    np.testing.assert_array_equal(again, first)
    for k in PARAM_NAMES:
        torch.testing.assert_close(fast.params()[k], p_first[k], rtol=0, atol=0)
    # a state can be loaded into another engine of the same shape
    other = FastEngine(params, ds.Xtr, ds.Ytr, cfg)
    other.load_state(s)
    np.testing.assert_array_equal(other.run(idx[10:20], lrs[10:20]), first)


def test_params_are_float32_copies(ds):
    params = init_params(ModelConfig(vocab_size=len(ds.vocab)))
    fast = FastEngine(params, ds.Xtr, ds.Ytr, TrainConfig())
    p = fast.params()
    assert set(p) == set(PARAM_NAMES)
    for k in PARAM_NAMES:
        assert p[k].dtype == torch.float32 and p[k].device.type == "cpu" and p[k].shape == params[k].shape
        torch.testing.assert_close(p[k], params[k])
    p["C"].zero_()
    assert fast.params()["C"].abs().sum() > 0
    params["W1"].zero_()  # the engine made its own copy at construction
    assert fast.params()["W1"].abs().sum() > 0


def test_bad_input_is_refused(ds):
    params = init_params(ModelConfig(vocab_size=len(ds.vocab)))
    fast = FastEngine(params, ds.Xtr, ds.Ytr, TrainConfig())
    with pytest.raises(ValueError):
        fast.run(torch.tensor([[0, len(ds.Ytr)]]), np.array([0.1]))
    with pytest.raises(ValueError):
        fast.run(torch.tensor([[-1, 0]]), np.array([0.1]))
    with pytest.raises(ConfigError):
        FastEngine(params, ds.Xtr, ds.Ytr, TrainConfig(device="cuda"))
    assert len(fast.run(torch.zeros((0, 32), dtype=torch.int64), np.zeros(0))) == 0


def test_kernel_releases_the_gil(ds):
    """While a long run() is in a worker thread, the main thread keeps running Python."""
    params = init_params(ModelConfig(vocab_size=len(ds.vocab)))
    fast = FastEngine(params, ds.Xtr, ds.Ytr, TrainConfig())
    fast.run(minibatches(len(ds.Ytr), 2, 32), np.full(2, 0.1))  # compiled before the clock starts
    idx, lrs = minibatches(len(ds.Ytr), 8000, 32), np.full(8000, 0.01)
    worker = threading.Thread(target=fast.run, args=(idx, lrs))
    ticks = 0
    worker.start()
    time.sleep(0.005)
    while worker.is_alive():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    assert ticks >= 10
