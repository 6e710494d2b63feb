"""Checkpoints: exact round trip, and every kind of bad file ends in one CheckpointError."""
import json
import os
import pickle

import pytest
import safetensors.torch
import torch

from mlp_lm import checkpoint as ck
from mlp_lm.config import TrainConfig
from mlp_lm.data import Vocab
from mlp_lm.errors import CheckpointError
from mlp_lm.model import ModelConfig, init_params

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia"]


@pytest.fixture()
def model():
    vocab = Vocab.from_words(WORDS)
    cfg = ModelConfig(vocab_size=len(vocab), hidden=16, emb_dim=4)
    return init_params(cfg), cfg, vocab


def test_round_trip(tmp_path, model):
    p, cfg, vocab = model
    path = ck.save(tmp_path / "m.safetensors", p, cfg, vocab, TrainConfig(steps=10), extra={"step": 10, "loss": 2.5})
    c = ck.load(path)
    assert c.model_cfg == cfg and c.vocab == vocab
    assert c.train_cfg == TrainConfig(steps=10).to_dict() and c.extra == {"step": 10, "loss": 2.5}
    for k in p:
        assert c.params[k].dtype == torch.float32 and torch.equal(c.params[k], p[k])
    assert [f.name for f in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary file left behind
    c2 = ck.load(ck.to_bytes(p, cfg, vocab))
    assert c2.train_cfg is None and c2.extra is None and torch.equal(c2.params["W1"], p["W1"])
    ck.check_vocab(c, vocab)


def test_overwrite_is_atomic_replace(tmp_path, model):
    p, cfg, vocab = model
    path = tmp_path / "m.safetensors"
    ck.save(path, p, cfg, vocab)
    q = {k: v + 1 for k, v in p.items()}
    ck.save(path, q, cfg, vocab)
    assert torch.equal(ck.load(path).params["C"], q["C"])


def _expect_error(source, match=None):
    with pytest.raises(CheckpointError, match=match) as e:
        ck.load(source)
    assert "\n" not in str(e.value)


def test_not_checkpoints(tmp_path, model):
    p, cfg, vocab = model
    (tmp_path / "random.bin").write_bytes(os.urandom(4096))
    _expect_error(tmp_path / "random.bin")
    (tmp_path / "empty").write_bytes(b"")
    _expect_error(tmp_path / "empty", "empty")
    _expect_error(tmp_path, "folder")
    _expect_error(tmp_path / "missing.safetensors", "no checkpoint")
    torch.save(p, tmp_path / "model.pt")
    _expect_error(tmp_path / "model.pt", "pickle")
    (tmp_path / "model.pkl").write_bytes(pickle.dumps({"C": [1, 2]}))
    _expect_error(tmp_path / "model.pkl", "pickle")
    _expect_error(b"{}", "too short")


def test_truncated(tmp_path, model):
    p, cfg, vocab = model
    data = ck.to_bytes(p, cfg, vocab)
    for cut in (len(data) - 1, len(data) // 2, 30, 9):
        _expect_error(data[:cut])


def _rewrite(p, cfg, itos, tensors=None, **meta_changes):
    tensors = dict(p if tensors is None else tensors)
    meta = {
        "format": ck.FORMAT, "format_version": "1", "model_config": json.dumps(cfg.to_dict()),
        "vocab": json.dumps(list(itos)), "train_config": "null", "extra": "null",
    }
    meta.update(meta_changes)
    return safetensors.torch.save({k: v.contiguous() for k, v in tensors.items()}, metadata=meta)


def test_inconsistent_contents(model):
    p, cfg, vocab = model
    _expect_error(safetensors.torch.save({k: v.contiguous() for k, v in p.items()}), "not an mlp_lm checkpoint")
    _expect_error(_rewrite(p, cfg, vocab.itos, tensors={k: v for k, v in p.items() if k != "W2"}), "missing tensor.*W2")
    _expect_error(_rewrite(p, cfg, vocab.itos, tensors={**p, "W1": torch.zeros(3, 3)}), "W1 has shape")
    _expect_error(_rewrite(p, cfg, vocab.itos, vocab=json.dumps(list(vocab.itos) + ["z"])), "vocabulary")
    _expect_error(_rewrite(p, cfg, vocab.itos, model_config=json.dumps({**cfg.to_dict(), "hidden": 0})), "model config")
    _expect_error(_rewrite(p, cfg, vocab.itos, model_config="{not json"), "model_config")
    _expect_error(_rewrite(p, cfg, vocab.itos, format_version="99"), "version")
    _expect_error(_rewrite(p, cfg, vocab.itos, tensors={**p, "b1": torch.full_like(p["b1"], float("nan"))}), "NaN")
    _expect_error(_rewrite(p, cfg, vocab.itos, tensors={**p, "b2": p["b2"].to(torch.int32)}), "dtype")


def test_too_large(tmp_path, model, monkeypatch):
    p, cfg, vocab = model
    path = ck.save(tmp_path / "m.safetensors", p, cfg, vocab)
    monkeypatch.setattr(ck, "MAX_CHECKPOINT_BYTES", path.stat().st_size - 1)
    _expect_error(path, "limit")
    _expect_error(path.read_bytes(), "limit")


def test_check_vocab_rejects_a_different_vocabulary(tmp_path, model):
    p, cfg, vocab = model
    c = ck.load(ck.to_bytes(p, cfg, vocab))
    other = Vocab.from_words(WORDS[:-1] + ["zoé"])
    with pytest.raises(CheckpointError, match="z"):
        ck.check_vocab(c, other)
    with pytest.raises(CheckpointError, match="order"):
        ck.check_vocab(c, Vocab((".",) + tuple(reversed(vocab.itos[1:]))))


def test_save_rejects_mismatch(tmp_path, model):
    p, cfg, vocab = model
    with pytest.raises(CheckpointError):
        ck.save(tmp_path / "x", p, ModelConfig(vocab_size=len(vocab)), vocab)  # hidden 200 vs 16
    with pytest.raises(CheckpointError):
        ck.save(tmp_path / "x", p, cfg, Vocab.from_words(["abc"]))
    with pytest.raises(CheckpointError):
        ck.save(tmp_path / "x", p, cfg, vocab, extra={"f": object()})
    assert not any(tmp_path.iterdir())
