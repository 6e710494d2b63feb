"""Shared by tests/test_hostile_*.py: a tiny names list and model, and a checkpoint's header length."""
import struct

from mlp_lm.data import Vocab
from mlp_lm.model import ModelConfig, init_params

NAMES8 = ("emma", "olivia", "ava", "isabella", "sophia", "mia", "charlotte", "amelia")
TEXT8 = "\n".join(NAMES8) + "\n"


def tiny_model(words=NAMES8, **sizes):
    vocab = Vocab.from_words(list(words))
    cfg = ModelConfig(vocab_size=len(vocab), **{"emb_dim": 2, "hidden": 8, **sizes})
    return init_params(cfg), cfg, vocab


def header_length(raw: bytes) -> int:
    return struct.unpack("<Q", raw[:8])[0]
