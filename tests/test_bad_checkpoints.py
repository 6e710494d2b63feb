"""Bad checkpoint files (tests/bad_inputs.py's CKPT_CASES) through the core, the CLI's sample and score and the
Train page's "Start from a model file"; and, over all three tables, the count and docs/limits.md's list.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import streamlit as st
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conftest import trainer_threads  # noqa: E402
from test_hostile_files import with_header_length  # noqa: E402
from bad_inputs import (BAD_DATA, CKPT_CASES, CKPT_IDS, DATA_CASES, DIVERGED_PREFIX, LIMITS_DOC, NAMES8,  # noqa: E402
                        SETTINGS_CASES, VOCAB_MSG, _checkpoint_bytes, _good_checkpoint, assert_one_error_line,
                        fresh_app, run_cli, shown, small_values, the_holder, wait_for)
from explorer.holder import OPEN_HOLDERS, Holder, Names  # noqa: E402
from mlp_lm import checkpoint as ck  # noqa: E402
from mlp_lm.data import DEFAULT_DATA, MAX_FILE_BYTES, Vocab, load_words  # noqa: E402
from mlp_lm.errors import CheckpointError  # noqa: E402
from mlp_lm.model import ModelConfig, init_params  # noqa: E402

pytestmark = pytest.mark.usefixtures("warm_kernel")


@pytest.mark.parametrize("case", CKPT_CASES, ids=CKPT_IDS)
def test_checkpoint_core(case, tmp_path):
    good = ck.load(_checkpoint_bytes())  # the model in use before
    raw = case.make()
    with pytest.raises(CheckpointError) as e:
        ck.load(raw)
    assert str(e.value) == case.error.format(what="the upload") and "\n" not in str(e.value)
    p = tmp_path / f"{case.id}.safetensors"
    p.write_bytes(raw)
    with pytest.raises(CheckpointError) as e:
        ck.load(p)
    assert str(e.value) == case.error.format(what=p.name)
    assert torch.equal(good.params["C"], _good_checkpoint()[0]["C"])  # the previous model is untouched


def test_checkpoint_core_from_a_different_vocabulary():
    c = ck.load(_checkpoint_bytes())
    with pytest.raises(CheckpointError) as e:
        ck.check_vocab(c, Vocab.from_words(list(NAMES8) + ["zoë"]))
    assert str(e.value) == VOCAB_MSG
    ck.check_vocab(c, Vocab.from_words(list(NAMES8)))  # the right data still fits


@pytest.fixture()
def good_checkpoint_file(tmp_path):
    p = tmp_path / "good.safetensors"
    ck.save(p, *_good_checkpoint())
    return p


@pytest.mark.parametrize("case", CKPT_CASES, ids=CKPT_IDS)
@pytest.mark.parametrize("command", ["sample", "score"])
def test_checkpoint_cli(case, command, tmp_path, capsys, good_checkpoint_file):
    p = tmp_path / f"{case.id}.safetensors"
    p.write_bytes(case.make())
    args = ["sample", "--checkpoint", p, "-n", "3"] if command == "sample" else ["score", "--checkpoint", p, "emma"]
    code, out, err = run_cli(capsys, *args)
    assert_one_error_line(code, out, err, case.error.format(what=p.name))
    # the previous, good checkpoint is still usable
    code, out, err = run_cli(capsys, "sample", "--checkpoint", good_checkpoint_file, "-n", "3", "--json")
    assert code == 0 and len(json.loads(out)["names"]) == 3


def test_checkpoint_with_header_length_1152_loads_in_the_core_the_cli_and_the_app(tmp_path, capsys):
    """Issue 12 item 0: a valid checkpoint whose header length is 0x480 (first byte 0x80) was called a pickle."""
    raw = with_header_length(0x480, *_good_checkpoint())
    assert raw[:1] == b"\x80"
    assert ck.load(raw).vocab == Vocab.from_words(list(NAMES8))
    p = tmp_path / "m.safetensors"
    p.write_bytes(raw)
    code, out, err = run_cli(capsys, "sample", "--checkpoint", p, "-n", "3", "--json")
    assert code == 0 and len(json.loads(out)["names"]) == 3, err
    code, out, err = run_cli(capsys, "score", "--checkpoint", p, "emma")
    assert code == 0 and out.startswith("emma: nll"), err
    h = Holder(Names.make(NAMES8, "names8.txt"))
    try:
        assert h.load_model(raw, small_values())["hidden"] == 8
    finally:
        h.close()


def test_checkpoint_cli_from_a_different_vocabulary(capsys, good_checkpoint_file):
    """The CLI scores with the checkpoint's own vocabulary: a name from another one is one clear line."""
    code, out, err = run_cli(capsys, "score", "--checkpoint", good_checkpoint_file, "zoë")
    assert_one_error_line(code, out, err, "'zoë' uses characters not in the vocabulary: 'zë'")


def test_checkpoint_app_load_function_cases_and_vocabulary():
    h = Holder(Names.make(NAMES8, "names8.txt"))
    try:
        h.new_trainer(small_values())
        before, run = h.trainer, h.run_id
        for case in CKPT_CASES:
            with pytest.raises(CheckpointError) as e:
                h.load_model(case.make(), small_values())
            assert str(e.value) == case.error.format(what="the upload"), case.id
            assert h.trainer is before and h.run_id == run, case.id
        h.use_names(Names.make(list(NAMES8) + ["zoë"], "names9.txt"))  # data with 'z' and 'ë' the file lacks
        with pytest.raises(CheckpointError) as e:
            h.load_model(_checkpoint_bytes(), small_values())
        assert str(e.value) == VOCAB_MSG and h.trainer is before
        h.use_names(Names.make(NAMES8, "names8.txt"))
        assert h.load_model(_checkpoint_bytes(), small_values())["hidden"] == 8 and h.trainer is not before
    finally:
        h.close()


MODEL_PAGE_CASES = [(c.id, c.make, c.error.format(what="the upload")) for c in CKPT_CASES]
MODEL_PAGE_CASES.append(("different-vocabulary", lambda: ck.to_bytes(*_good_checkpoint(["ann", "bob", "cy", "dee", "eve", "flo"])),
                         "the checkpoint's vocabulary (12 characters) differs from the data's (15): the data has "
                         "'himprst' which the checkpoint lacks; the checkpoint has 'dfny' which the data lacks"))


class TestModelPage:
    """The Train page's "Start from a model file" uploader: one session for the class, an idle run on 8 names."""

    @pytest.fixture(scope="class")
    def train_page(self):
        """One app session on the Train page with the 8 names in use and an idle run (the 'current model')."""
        at = fresh_app()
        at.slider(key="emb_dim").set_value(2)
        at.slider(key="hidden").set_value(8)
        at.run()
        the_holder().use_names(Names.make(NAMES8, "names8.txt"))
        at.button(key="btn_reset").click().run()
        assert not at.exception, at.exception
        yield at
        st.cache_resource.clear()
        assert not trainer_threads() and not list(OPEN_HOLDERS)

    @pytest.mark.parametrize("case_id, make, error", MODEL_PAGE_CASES, ids=[c[0] for c in MODEL_PAGE_CASES])
    def test_checkpoint_app_upload_page(self, case_id, make, error, train_page):
        at = train_page
        h = the_holder()
        before, run = h.trainer, h.run_id
        name = f"{case_id}.safetensors"
        at.file_uploader(key="model_upload").set_value((name, make(), "application/octet-stream")).run()
        assert not at.exception, at.exception
        errors = [shown(e.value) for e in at.error]
        assert errors == [f"{name}: {error}. The current model is unchanged."]
        assert h.trainer is before and h.run_id == run
        at.button(key="btn_step").click().run()  # the current model still trains
        assert not at.exception and wait_for(h, ("paused", "finished")).step > 0
        h.stop()


@pytest.mark.parametrize("sizes", [{"hidden": 2000}, {"block_size": 20}, {"emb_dim": 1}],
                         ids=["hidden-2000", "block-20", "emb-1"])
def test_checkpoint_app_upload_sizes_outside_the_sliders(sizes, released_sessions):
    vocab = Vocab.from_words(load_words(DEFAULT_DATA))
    cfg = ModelConfig(vocab_size=len(vocab), **sizes)  # valid for the core and the CLI
    at = fresh_app()
    at.file_uploader(key="model_upload").set_value(("cli.safetensors", ck.to_bytes(init_params(cfg), cfg, vocab),
                                                    "application/octet-stream")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert any("the app works with" in e.value for e in at.error), [e.value for e in at.error]
    at.run()
    assert not at.exception, [e.message for e in at.exception]


# ========================================================================================= the count and the docs

def test_at_least_twenty_distinct_bad_inputs():
    n = len(DATA_CASES) + len(SETTINGS_CASES) + len(CKPT_CASES) + 1  # + the different-vocabulary checkpoint
    assert n >= 20 and len(BAD_DATA) + len(CKPT_CASES) + 1 >= 20, n  # + the different-vocabulary checkpoint


def _messages():
    msgs = [c.error for c in BAD_DATA]
    msgs += [c.outcome for c in SETTINGS_CASES if c.outcome not in ("finished", "diverged")]
    msgs += [c.error.format(what="the upload") for c in CKPT_CASES] + [VOCAB_MSG]
    return msgs


def test_limits_page_lists_every_message():
    """docs/limits.md's "input → what you get" table quotes every message above verbatim."""
    text = LIMITS_DOC.read_text(encoding="utf-8")
    flat = re.sub(r"\\([|`])", r"\1", text)  # markdown escapes in table cells
    missing = [m for m in _messages() if m not in flat]
    assert not missing, missing
    assert str(MAX_FILE_BYTES // 1_000_000) in text and DIVERGED_PREFIX.split(" (")[0] in flat
