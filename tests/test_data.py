"""Data: parsing and its limits, the lecture's X/Y loop as oracle, the 80/10/10 split."""
import codecs
import random

import pytest
import torch

from mlp_lm import data
from mlp_lm.data import DEFAULT_DATA, DataError, Vocab, build_dataset, load_dataset, load_words, split_words


def lecture_build_dataset(words, block_size, stoi):
    """makemore part 2, verbatim."""
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    return torch.tensor(X, dtype=torch.int64).view(-1, block_size), torch.tensor(Y, dtype=torch.int64)


@pytest.fixture(scope="module")
def words():
    return load_words(DEFAULT_DATA)


def test_default_file(words):
    assert len(words) == 32_469
    assert words[:3] == ["emma", "olivia", "ava"]
    v = Vocab.from_words(words)
    assert v.itos[0] == "." and "".join(v.itos[1:]) == "abcdefghijklmnopqrstuvwxyz"
    assert v.stoi["a"] == 1 and v.stoi["z"] == 26


@pytest.mark.parametrize("block_size", [1, 2, 3, 5, 8])
def test_build_dataset_matches_lecture_loop(words, block_size):
    sub = words[:2000] + ["a", "bob"]
    v = Vocab.from_words(words)
    X, Y = build_dataset(sub, block_size, v)
    Xr, Yr = lecture_build_dataset(sub, block_size, v.stoi)
    assert X.dtype == torch.int32 and Y.dtype == torch.int64  # int32 contexts: half the memory
    assert torch.equal(X, Xr) and torch.equal(Y, Yr)


def test_build_dataset_any_characters():
    sub = ["Zoë", "李小龍", "o'neil", "anne marie", "x1", "🙂ok"]
    v = Vocab.from_words(sub)
    X, Y = build_dataset(sub, 4, v)
    Xr, Yr = lecture_build_dataset(sub, 4, v.stoi)
    assert torch.equal(X, Xr) and torch.equal(Y, Yr)


def test_split_is_the_lectures(words):
    tr, dev, te = split_words(words)
    ref = list(words)
    random.seed(42)
    random.shuffle(ref)
    n1, n2 = int(0.8 * len(ref)), int(0.9 * len(ref))
    assert (tr, dev, te) == (ref[:n1], ref[n1:n2], ref[n2:])


def test_split_sizes_block3():
    ds = load_dataset(None, 3)
    assert ds.split_sizes == (185_346, 23_267, 23_105)
    assert ds.Xtr.shape == (185_346, 3)


@pytest.mark.parametrize("raw, needle", [
    (b"", "no names"),
    (b"  \n\t\n   \r\n", "no names"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    ("émile\nzoé\n".encode("latin-1"), "not UTF-8"),
    (b"emma\nmr.smith\n", "'.'"),
    (b"a" * 10_000, "at most 64"),
    ("\n".join(chr(0x4E00 + i) for i in range(400)).encode(), "distinct characters"),
    (b"ann\x07e\n", "control character"),
], ids=["empty", "whitespace", "png", "latin1", "terminator", "huge-line", "huge-vocab", "control-char"])
def test_bad_input_one_clear_message(raw, needle):
    with pytest.raises(DataError, match=needle) as e:
        load_words(raw)
    assert "\n" not in str(e.value)


def test_encodings_and_line_endings():
    assert load_words(codecs.BOM_UTF8 + b"emma\r\nava\r\n") == ["emma", "ava"]
    assert load_words("emma\nava\n".encode("utf-16")) == ["emma", "ava"]
    assert load_words("  Emma \n\n AVA\n") == ["Emma", "AVA"]


def test_limits(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "MAX_FILE_BYTES", 100)
    with pytest.raises(DataError, match="limit"):
        load_words(b"a\n" * 100)
    p = tmp_path / "big.txt"
    p.write_bytes(b"a\n" * 100)
    with pytest.raises(DataError, match="limit"):
        load_words(p)
    with pytest.raises(DataError, match="cannot read"):
        load_words(tmp_path / "missing.txt")


def test_too_few_names_for_a_split():
    with pytest.raises(DataError, match="at least"):
        split_words(["ann", "bob", "cy"])
    assert [len(p) for p in split_words(["a", "b", "c", "d", "e", "f"])] == [4, 1, 1]


def test_names_file_regenerates_byte_for_byte():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_names", DEFAULT_DATA.parent / "make_names.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert ("\n".join(mod.names_2017()) + "\n").encode("utf-8") == DEFAULT_DATA.read_bytes()
