"""Sampling: determinism, valid distributions, top-k / top-p / temperature, max_len, scoring and labels."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mlp_lm.data import DEFAULT_DATA, load_words, make_dataset
from mlp_lm.errors import ConfigError, DataError
from mlp_lm.model import ModelConfig, forward, init_params
from mlp_lm.sampler import distribution, label, next_step, sample, score


@pytest.fixture(scope="module")
def setup():
    ds = make_dataset(load_words(DEFAULT_DATA)[:300], 3)
    cfg = ModelConfig(vocab_size=len(ds.vocab), init="scaled", hidden=50)
    p = init_params(cfg, seed=7)
    p["W2"] *= 100  # sharpen the untrained model so distributions are far from uniform
    return ds, p


def test_same_seed_same_names_different_seed_differs(setup):
    ds, p = setup
    a = sample(p, ds.vocab, 3, n=10, seed=1)
    b = sample(p, ds.vocab, 3, n=10, seed=1)
    c = sample(p, ds.vocab, 3, n=10, seed=2)
    assert [s.name for s in a] == [s.name for s in b]
    assert [s.name for s in a] != [s.name for s in c]


def test_matches_the_lecture_loop(setup):
    """Temperature 1, no filters: the notebook's sampling loop with the same generator gives the same names."""
    ds, p = setup
    g = torch.Generator().manual_seed(123)
    expected = []
    for _ in range(5):
        out, context = [], [0] * 3
        while True:
            emb = p["C"][torch.tensor([context])]
            h = torch.tanh(emb.view(1, -1) @ p["W1"] + p["b1"])
            probs = F.softmax(h @ p["W2"] + p["b2"], dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            context = context[1:] + [ix]
            out.append(ix)
            if ix == 0:
                break
        expected.append("".join(ds.vocab.itos[i] for i in out[:-1]))
    assert [s.name for s in sample(p, ds.vocab, 3, n=5, seed=123, max_len=1000)] == expected


def test_steps_are_consistent(setup):
    ds, p = setup
    for s in sample(p, ds.vocab, 3, n=10, seed=3, temperature=0.8, top_k=5, top_p=0.9):
        assert s.name == "".join(st.char for st in s.steps if st.chosen != 0)
        assert "." not in s.name
        context = "..."
        for st in s.steps:
            assert st.context == context and len(st.probs) == len(ds.vocab)
            assert st.probs.sum() == pytest.approx(1.0, abs=1e-5)
            assert st.probs[st.chosen] > 0 and ds.vocab.itos[st.chosen] == st.char
            context = context[1:] + st.char


def test_top_k(setup):
    ds, p = setup
    for k in (1, 3):
        for s in sample(p, ds.vocab, 3, n=5, seed=4, top_k=k):
            for st in s.steps:
                assert np.count_nonzero(st.probs) <= k
                assert st.probs[st.chosen] > 0


def test_top_p_smallest_set():
    logits = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0, -3.0]])
    full = F.softmax(logits, dim=1)[0].numpy()
    order = np.argsort(-full)
    for top_p in (0.3, 0.5, 0.7, 0.9, 0.99):
        q = distribution(logits, top_p=top_p)[0].numpy()
        kept = np.flatnonzero(q > 0)
        m = int(np.searchsorted(np.cumsum(full[order]), top_p) + 1)  # smallest prefix with mass ≥ top_p
        assert sorted(kept) == sorted(order[:m])
        assert full[kept].sum() >= top_p - 1e-6
        assert np.allclose(q[kept], full[kept] / full[kept].sum(), atol=1e-6)
    assert np.allclose(distribution(logits, top_p=1.0)[0].numpy(), full)


def test_small_temperature_is_argmax(setup):
    ds, p = setup
    for s in sample(p, ds.vocab, 3, n=3, seed=5, temperature=1e-6):
        for st in s.steps:
            assert st.chosen == int(np.argmax(st.probs)) and st.probs.max() > 0.999
    step = next_step(p, ds.vocab, 3, "em", temperature=1e-30)  # no inf/inf even when the logits overflow
    assert np.isfinite(step.probs).all()


def test_max_len(setup):
    ds, p = setup
    for s in sample(p, ds.vocab, 3, n=20, seed=6, max_len=2):
        assert len(s.steps) <= 2 and len(s.name) <= 2
        assert s.ended == (s.steps[-1].chosen == 0)


def test_next_step(setup):
    ds, p = setup
    a = next_step(p, ds.vocab, 3, "em", seed=9)
    b = next_step(p, ds.vocab, 3, "em", seed=9)
    assert a.context == ".em" and a.chosen == b.chosen and np.array_equal(a.probs, b.probs)
    prefixes = ["", "e", "em", "emm", "a", "av", "ol", "li"] * 3
    draws = lambda seed: [next_step(p, ds.vocab, 3, s, seed=seed, temperature=50.0).chosen for s in prefixes]
    assert draws(9) == draws(9) and draws(9) != draws(10)  # seed + position fixes each draw
    assert next_step(p, ds.vocab, 3, "emma", seed=9).context == "mma"
    # the probabilities are the model's softmax for that context
    logits, _ = forward(p, torch.tensor([[0] + ds.vocab.encode("em")]))
    assert np.allclose(a.probs, F.softmax(logits, dim=1)[0].numpy(), atol=1e-6)
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    assert [next_step(p, ds.vocab, 3, "", generator=g1).chosen for _ in range(5)] == [
        next_step(p, ds.vocab, 3, "", generator=g2).chosen for _ in range(5)
    ]
    with pytest.raises(DataError, match="#"):
        next_step(p, ds.vocab, 3, "e#m")


def test_score_matches_forward(setup):
    ds, p = setup
    name = ds.train_words[0]
    sc = score(p, ds.vocab, 3, name)
    assert sc.chars == list(name) + ["."]
    ix = [0, 0, 0] + ds.vocab.encode(name) + [0]
    X = torch.tensor([ix[i : i + 3] for i in range(len(name) + 1)])
    probs = F.softmax(forward(p, X)[0], dim=1)
    expected = probs[torch.arange(len(X)), torch.tensor(ix[3:])].double().numpy()
    assert np.allclose(sc.probs, expected, rtol=1e-5)
    assert sc.nll == pytest.approx(-np.log(sc.probs).sum(), rel=1e-6)
    assert sc.mean_nll == pytest.approx(sc.nll / (len(name) + 1))
    assert sc.contexts[0] == "..." and sc.contexts[-1] == ("..." + name)[-3:]


def test_score_rejects_unknown_characters(setup):
    ds, p = setup
    with pytest.raises(DataError, match="Z"):
        score(p, ds.vocab, 3, "emZa")
    with pytest.raises(DataError):
        score(p, ds.vocab, 3, "")
    with pytest.raises(DataError):
        score(p, ds.vocab, 3, "em.ma")


def test_labels(setup):
    ds, _ = setup
    train = set(ds.train_words)
    tr = ds.train_words[0]
    dev = next(w for w in ds.dev_words if w not in train)
    te = next(w for w in ds.test_words if w not in train)
    novel = "zzzqqq"
    assert novel not in ds.words
    assert label([tr, dev, te, novel], ds) == ["train", "dev/test", "dev/test", "novel"]
    assert label([], ds) == []


def test_bad_settings(setup):
    ds, p = setup
    for kw in (dict(temperature=0), dict(temperature=-1.0), dict(temperature=float("nan")), dict(top_k=0),
               dict(top_p=0), dict(top_p=1.5), dict(max_len=0), dict(n=-1), dict(seed=-3)):
        with pytest.raises(ConfigError):
            sample(p, ds.vocab, 3, **{"n": 1, **kw})
    with pytest.raises(ConfigError):
        sample(p, ds.vocab, 4, n=1)  # W1 was built for block_size 3
