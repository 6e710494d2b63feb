"""Issue 12, the core, part 1: hostile files.

Each test fails without its fix: checkpoints whose header length starts with the byte 0x80 (item 0, a property test
over sizes and vocabularies), devices / FIFOs / pipes as a names file (1), datasets too large for memory (2).
"""

import io
import json
import multiprocessing
import os
import resource
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mlp_lm import chars, checkpoint as ck, data
from mlp_lm.data import Vocab, dataset_bytes, load_words, make_dataset
from mlp_lm.errors import DataError
from mlp_lm.model import ModelConfig, forward, init_params

from hostile_helpers import tiny_model, header_length


# ================================================================== item 0: every header length loads (0x480 too)

def with_header_length(target: int, params, cfg, vocab) -> bytes:
    """A checkpoint whose JSON header is exactly `target` bytes long (padded through `extra`)."""
    base = header_length(ck.to_bytes(params, cfg, vocab, extra=""))
    for pad in range(max(0, target - base - 16), target - base + 16):
        raw = ck.to_bytes(params, cfg, vocab, extra="x" * pad)
        if header_length(raw) == target:
            return raw
    raise AssertionError(f"no padding gives a header of {target} bytes")


def assert_round_trip(raw: bytes, params, cfg, vocab, tmp_path: Path | None = None):
    sources = [raw]
    if tmp_path is not None:
        (tmp_path / "m.safetensors").write_bytes(raw)
        sources.append(tmp_path / "m.safetensors")
    for source in sources:
        c = ck.load(source)
        assert c.model_cfg == cfg and c.vocab == vocab
        assert all(torch.equal(c.params[k], params[k]) for k in params)


def test_header_length_1152_is_a_checkpoint_not_a_pickle(tmp_path):
    """The issue's case: 1152 = 0x480, whose first little-endian byte 0x80 was taken for a pickle's opcode."""
    model = tiny_model()
    raw = with_header_length(0x480, *model)
    assert raw[:1] == b"\x80" and header_length(raw) == 1152
    assert_round_trip(raw, *model, tmp_path)


def test_every_header_length_over_4_kb_loads():
    """Every 8-byte-aligned header length from the smallest to 4 kB more (512 lengths, 16 with a low byte 0x80)."""
    model = tiny_model()
    base = header_length(ck.to_bytes(*model, extra=""))
    seen = set()
    for pad in range(0, 4096, 8):
        raw = ck.to_bytes(*model, extra="x" * pad)
        seen.add(raw[0])
        c = ck.load(raw)
        assert c.extra == "x" * pad
    assert 0x80 in seen and base < 0x480 < base + 4096


VOCAB_CHARS = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs"),
    exclude_characters="." + "".join(chars.LINE_SEPARATORS | chars.BIDI_CONTROLS),
)


@settings(max_examples=120, deadline=None, database=None)  # no .hypothesis/ folder in the repository
@given(
    vocab_chars=st.sets(VOCAB_CHARS, min_size=1, max_size=255),
    block_size=st.integers(1, 16), emb_dim=st.integers(1, 12), hidden=st.integers(1, 300),
    init=st.sampled_from(["lecture", "scaled"]), seed=st.integers(0, 2**32 - 1),
    extra=st.one_of(st.none(), st.integers(), st.text(max_size=3000), st.dictionaries(st.text(max_size=8), st.floats())),
)
@example(vocab_chars=set("abcdefghijklmnopqrstuvwxyz"), block_size=3, emb_dim=2, hidden=8, init="lecture", seed=0,
         extra="x" * 540)  # header length 1152
@example(vocab_chars=set("abcdefghijklmnopqrstuvwxyzäöüßéèêàç"), block_size=3, emb_dim=10, hidden=200,
         init="lecture", seed=1, extra=None)  # a names list with 38 distinct characters, as the app saves it
def test_property_save_and_load_any_checkpoint(tmp_path_factory, vocab_chars, block_size, emb_dim, hidden, init,
                                               seed, extra):
    vocab = Vocab.from_words(["".join(sorted(vocab_chars))])
    cfg = ModelConfig(block_size=block_size, emb_dim=emb_dim, hidden=hidden, vocab_size=len(vocab), init=init)
    params = init_params(cfg, seed=seed)
    raw = ck.to_bytes(params, cfg, vocab, extra=extra)
    c = ck.load(raw)
    assert c.model_cfg == cfg and c.vocab == vocab and all(torch.equal(c.params[k], params[k]) for k in params)
    assert json.dumps(c.extra) == json.dumps(extra)  # NaN ≠ NaN, but its JSON is the same
    path = ck.save(tmp_path_factory.mktemp("ck") / "m.safetensors", params, cfg, vocab, extra=extra)
    assert ck.load(path).vocab == vocab


# ============================================================ item 1: devices, FIFOs and pipes as a names file

def _child(conn, fn, args, stdin_fd):
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a regression must not eat the machine
    if stdin_fd is not None:
        os.dup2(stdin_fd, 0)
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as e:  # noqa: BLE001 — report anything to the parent
        conn.send(("error", type(e).__name__, str(e)))


def bounded(fn, *args, timeout=2.0, stdin_fd=None):
    """Run fn(*args) in a forked child with a 4 GB address-space cap; its result, or 'timeout' after `timeout` s."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, stdin_fd), daemon=True)
    proc.start()
    try:
        if not parent.poll(timeout):
            return "timeout"
        return parent.recv()
    finally:
        proc.kill()
        proc.join()


def _load_words(path):
    return load_words(Path(path))


def _cli(*args):
    from mlp_lm.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:
            code = e.code
    return code, err.getvalue()


def test_dev_zero_and_urandom_are_refused_within_2_s():
    for dev in ("/dev/zero", "/dev/urandom"):
        assert bounded(_load_words, dev) == (
            "error", "DataError", f"{dev} is a character device, not a regular file; give the path of a names file")


def test_a_fifo_with_no_writer_is_refused_within_2_s(tmp_path):
    fifo = tmp_path / "names.fifo"
    os.mkfifo(fifo)
    assert bounded(_load_words, fifo) == (
        "error", "DataError", f"{fifo} is a FIFO (named pipe), not a regular file; give the path of a names file")


def test_a_fifo_being_written_forever_is_refused_within_2_s(tmp_path):
    fifo = tmp_path / "names.fifo"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # a writer that holds the pipe open and full
    try:
        while True:
            try:
                os.write(fd, b"ann\n" * 4096)
            except BlockingIOError:
                break
        result = bounded(_load_words, fifo)
    finally:
        os.close(fd)
    assert result[0] == "error" and "FIFO" in result[2]


def test_a_pipe_on_stdin_is_refused_within_2_s():
    r, w = os.pipe()
    try:
        result = bounded(_load_words, "/dev/stdin", stdin_fd=r)
    finally:
        os.close(r)
        os.close(w)
    assert result[0] == "error" and "not a regular file" in result[2], result


def test_cli_train_data_dev_zero_is_one_line_within_2_s(tmp_path):
    result = bounded(_cli, "train", "--data", "/dev/zero", "--steps", "1", "--no-progress", "--out", tmp_path / "m.st")
    assert result == ("ok", (2, "error: /dev/zero is a character device, not a regular file; "
                                "give the path of a names file\n")), result


def test_cli_sample_checkpoint_dev_zero_is_one_line_within_2_s():
    result = bounded(_cli, "sample", "--checkpoint", "/dev/zero")
    assert result[0] == "ok" and result[1][0] == 2 and "character device" in result[1][1], result


def test_a_regular_file_that_reports_a_wrong_size_is_read_bounded():
    from mlp_lm.files import read_limited

    assert os.stat("/proc/self/maps").st_size == 0  # a regular file whose size says nothing
    with pytest.raises(DataError, match="^maps is more than 10 bytes, the limit$"):
        read_limited("/proc/self/maps", 10, DataError, "names file")


# ============================================================================= item 2: the dataset's memory

def test_dataset_bytes_is_the_memory_of_x_and_y(small_words):
    for block_size in (1, 3, 8):
        ds = make_dataset(small_words, block_size)
        held = sum(t.numel() * t.element_size() for t in (ds.Xtr, ds.Ytr, ds.Xdev, ds.Ydev, ds.Xte, ds.Yte))
        assert dataset_bytes(small_words, block_size) == held
        assert ds.Xtr.dtype == torch.int32  # half of int64's memory


def _make(words, block_size):
    make_dataset(words, block_size)
    return "built"


def test_twenty_mb_of_64_character_names_at_block_size_64_is_refused_before_building():
    """The issue's case: it allocated 9.5 GB and ended in a NumPy traceback; now one line, nothing allocated."""
    words = ["a" * 63 + chr(0x62 + i % 20) for i in range(307_692)]  # ≈ 20 MB as a file
    result = bounded(_make, words, 64, timeout=5.0)
    assert result == ("error", "DataError",
                      "the dataset would take 5.3 GB of memory (19,999,980 examples × block_size 64); the limit is "
                      "1.0 GB: use fewer or shorter names or a smaller block_size"), result


def test_dataset_limit_is_checked_by_make_and_build(monkeypatch, small_words):
    need = dataset_bytes(small_words, 3)
    monkeypatch.setattr(data, "MAX_DATASET_BYTES", need - 1)
    with pytest.raises(DataError, match="the limit is"):
        make_dataset(small_words, 3)
    with pytest.raises(DataError, match="the limit is"):
        data.build_dataset(small_words, 3)
    with pytest.raises(DataError, match="the limit is"):
        data.check_dataset_size(small_words, 3)
    monkeypatch.setattr(data, "MAX_DATASET_BYTES", need)
    assert data.check_dataset_size(small_words, 3) == need and make_dataset(small_words, 3)


def test_int32_contexts_train_and_evaluate_on_every_engine(small_ds):
    from mlp_lm.bigram import bigram_dev_loss
    from mlp_lm.config import TrainConfig
    from mlp_lm.model import evaluate
    from mlp_lm.trainer import Trainer

    assert small_ds.Xtr.dtype == torch.int32
    cfg = ModelConfig(vocab_size=len(small_ds.vocab), emb_dim=4, hidden=16)
    losses = []
    for engine in ("reference", "fast"):
        s = Trainer(small_ds, cfg, TrainConfig(steps=50, engine=engine, eval_interval=0)).run()
        losses.append(evaluate(s.params, small_ds.Xdev, small_ds.Ydev))
        assert s.status == "finished" and np.isfinite(losses[-1])
    assert losses[0] == pytest.approx(losses[1], rel=1e-3)
    p = init_params(cfg)
    assert torch.equal(forward(p, small_ds.Xdev[:50])[0], forward(p, small_ds.Xdev[:50].long())[0])
    assert 2.3 < bigram_dev_loss(small_ds) < 2.7
