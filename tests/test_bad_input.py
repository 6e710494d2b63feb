"""Bad input, table-driven: every case through the core, the CLI and the app, each ending in one clear message.

Three tables:
  DATA_CASES      names files (bytes)                 → core load_words/make_dataset, CLI `train --data`,
                                                          app Holder.load_upload, the Data page's uploader
                                                          (and its paste box for the cases that are text)
  SETTINGS_CASES  training settings                   → core Trainer, CLI `train` flags, app sidebar
  CKPT_CASES      checkpoint files                    → core checkpoint.load/check_vocab, CLI `sample`/`score`
                                                          (the app loads no checkpoints: nothing to upload there)

A bad case must end in exactly one line (core: one MLPLMError; CLI: exit status 2 and one stderr line
"error: <the core's message>", no traceback; app: one st.error "<file>: <message>. Still using <previous>.") and
leave the previous data / model in use. A case marked "works" must work on every path. The messages are the
contract that docs/limits.md shows users; test_limits_page_lists_every_message keeps the two in sync.
"""
from __future__ import annotations

import codecs
import io
import json
import pickle
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conftest import trainer_threads  # noqa: E402
from test_hostile_files import with_header_length  # noqa: E402
from test_hostile_models import CRAFTED, huge  # noqa: E402
from explorer.holder import OPEN_HOLDERS, Holder, Names  # noqa: E402
from explorer.session import shown  # noqa: E402
from mlp_lm import checkpoint as ck  # noqa: E402
from mlp_lm.cli import main  # noqa: E402
from mlp_lm.config import TrainConfig  # noqa: E402
from mlp_lm.data import DEFAULT_DATA, MAX_FILE_BYTES, Vocab, load_words, make_dataset  # noqa: E402
from mlp_lm.errors import CheckpointError, ConfigError, DataError, MLPLMError  # noqa: E402
from mlp_lm.model import ModelConfig, init_params  # noqa: E402
from mlp_lm.trainer import DIVERGE_FACTOR, Trainer  # noqa: E402

APP = str(ROOT / "explorer" / "main.py")  # the script each session runs (app.py serves it)
pytestmark = pytest.mark.usefixtures("warm_kernel")
LIMITS_DOC = ROOT / "docs" / "limits.md"

PREVIOUS = ("ada", "ben", "cleo", "dan", "eve", "finn", "gus", "hal")  # the data in use before each bad input
NAMES8 = ("emma", "olivia", "ava", "isabella", "sophia", "mia", "charlotte", "amelia")
TEXT8 = "\n".join(NAMES8) + "\n"



# ----------------------------------------------------------------------------------------------------- the cases

@dataclass(frozen=True)
class Case:
    id: str
    raw: bytes
    error: str | None = None                  # the exact one-line message; None: it must just work
    words: tuple[str, ...] | None = None      # the names it must give when it works
    cli_error: str | None = None              # the CLI's message when it differs ({name} = the file's name)
    paste: bool = True                        # also try it in the Data page's paste box (text cases only)
    note: str = field(default="", compare=False)


BIG = b"ann\n" * (21_000_000 // 4)  # 21.0 MB: over the core's 20 MB limit (and over the app's 5 MB upload cap)
SPLIT_MSG = "only {n} name(s): a train/dev/test split needs at least 6 so that each part gets one"

DATA_CASES = [
    # ---- refused, one clear line each
    Case("empty", b"", "no names found: the file is empty or has only blank lines"),
    Case("whitespace-only", b"  \n\t\n   \r\n\n", "no names found: the file is empty or has only blank lines"),
    Case("binary-png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10" + bytes(range(256)),
         "this looks like a binary file, not text with one name per line", paste=False),
    Case("utf16-without-bom", TEXT8.encode("utf-16-le"),
         "this looks like a binary file, not text with one name per line", paste=False),
    Case("latin1", "émile\nzoé\nanna\nbob\ncarl\ndora\n".encode("latin-1"),
         "the file is not UTF-8 text (byte 0xe9 on line 1); save it as UTF-8", paste=False),
    Case("name-with-terminator", b"emma\nmr.smith\nava\nbob\ncarl\ndora\n",
         "line 2 ('mr.smith') contains '.', which the model reserves to mark the start and end of a name"),
    Case("one-enormous-line", b"a" * 1_000_000, "line 1 is 1,000,000 characters long; a name may have at most 64"),
    Case("control-character", b"ann\x07e\nbob\ncarl\ndora\neve\nflo\n",
         "line 1 ('ann\\x07e') contains the control character U+0007"),
    Case("too-many-distinct-characters", "\n".join(chr(0x4E00 + i) for i in range(400)).encode(),
         "the names use 400 distinct characters; at most 255 are supported"),
    Case("larger-than-the-limit", BIG, f"the file is {len(BIG):,} bytes; the limit is 20,000,000 bytes",
         cli_error="{name} is " + f"{len(BIG):,} bytes; the limit is 20,000,000 bytes", paste=False),
    Case("one-name", b"emma\n", SPLIT_MSG.format(n=1)),
    Case("five-names", b"ann\nbob\ncy\ndee\neve\n", SPLIT_MSG.format(n=5)),
    Case("line-separator-inside-a-name", "ann\u2028marie\nbob\ncarl\ndora\neve\nflo\n".encode(),
         "line 1 ('ann\\u2028marie') contains the line separator U+2028"),
    Case("vertical-tab-inside-a-name", b"emma\nann\x0bmarie\nbob\ncarl\ndora\neve\n",
         "line 2 ('ann\\x0bmarie') contains the line separator U+000B"),
    Case("right-to-left-override", "emma\nann\u202eeve\nbob\ncarl\ndora\neve\n".encode(),
         "line 2 ('ann\\u202eeve') contains the bidirectional control character U+202E"),
    Case("only-zero-width-characters", "emma\n\u200b\u200b\nbob\ncarl\ndora\neve\n".encode(),
         "line 2 ('\\u200b\\u200b') has no visible character (only zero-width, format, combining or space characters)"),
    # ---- must just work
    Case("utf16-with-bom", TEXT8.encode("utf-16"), words=NAMES8, paste=False),
    Case("utf16-be-with-bom", codecs.BOM_UTF16_BE + TEXT8.encode("utf-16-be"), words=NAMES8, paste=False),
    Case("utf8-bom", codecs.BOM_UTF8 + TEXT8.encode(), words=NAMES8),
    Case("crlf", TEXT8.replace("\n", "\r\n").encode(), words=NAMES8),
    Case("spaces", " anne marie \njean luc\nmary  ann\nbob\ncarl\ndora\n".encode(),
         words=("anne marie", "jean luc", "mary  ann", "bob", "carl", "dora")),
    Case("digits", b"r2d2\nc3po\nagent 47\nbob\ncarl\ndora\n", words=("r2d2", "c3po", "agent 47", "bob", "carl", "dora")),
    Case("punctuation", "o'neil\njean-luc\nd'arcy\nbob!\ncarl?\ndora, jr\n".encode(),
         words=("o'neil", "jean-luc", "d'arcy", "bob!", "carl?", "dora, jr")),
    Case("mixed-case", b"Emma\nOLIVIA\naVa\nbob\nCarl\ndora\n", words=("Emma", "OLIVIA", "aVa", "bob", "Carl", "dora")),
    Case("emoji", "🙂ok\nzoë🎉\nanna\nbob\ncarl\ndora\n".encode(), words=("🙂ok", "zoë🎉", "anna", "bob", "carl", "dora")),
    Case("other-scripts", "李小龍\nЗоя\nمحمد\nΑλέξης\nनिशा\nזיו\n".encode(),
         words=("李小龍", "Зоя", "محمد", "Αλέξης", "निशा", "זיו")),
    Case("emoji-with-zero-width-joiner", "ann\n👩\u200d🎓\nbob\ncarl\ndora\neve\n".encode(),
         words=("ann", "👩\u200d🎓", "bob", "carl", "dora", "eve")),
    Case("no-break-space", "anne\u00a0marie\nbob\ncarl\ndora\neve\nflo\n".encode(),
         words=("anne\u00a0marie", "bob", "carl", "dora", "eve", "flo")),
    Case("six-names-the-minimum", b"ann\nbob\ncy\ndee\neve\nflo\n", words=("ann", "bob", "cy", "dee", "eve", "flo")),
    Case("everything-at-once", codecs.BOM_UTF8 + " Zoë \r\n\r\nanne marie\r\nO'Neil\r\n李\r\nr2d2\r\n🙂\r\n".encode(),
         words=("Zoë", "anne marie", "O'Neil", "李", "r2d2", "🙂")),
]
DATA_IDS = [c.id for c in DATA_CASES]
BAD_DATA = [c for c in DATA_CASES if c.error]
assert len({c.raw for c in DATA_CASES}) == len(DATA_CASES), "two data cases are the same input"


def expect_data_error(case: Case, fn):
    with pytest.raises(DataError) as e:
        fn()
    msg = str(e.value)
    assert msg == case.error, msg
    assert "\n" not in msg and "Traceback" not in msg
    return msg


# ---------------------------------------------------------------------------------------------------- helpers

def run_cli(capsys, *args) -> tuple[int, str, str]:
    """`python -m mlp_lm ARGS` in process: (exit status, stdout, stderr)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code, out, err, message):
    assert code == 2, (code, err)
    assert err.strip().splitlines() == [f"error: {message}"], err
    assert "Traceback" not in out + err


def tiny_train_args(data: Path, out: Path, *extra) -> list:
    return ["train", "--data", data, "--emb-dim", "2", "--hidden", "8", "--steps", "3", "--eval-interval", "0",
            "--eval-train-rows", "100", "--no-progress", "--out", out, *extra]



# ======================================================================================= (1) data files: the core

@pytest.mark.parametrize("case", DATA_CASES, ids=DATA_IDS)
def test_data_core(case):
    if case.error:
        expect_data_error(case, lambda: make_dataset(load_words(case.raw), 3))
    else:
        words = load_words(case.raw)
        assert tuple(words) == case.words
        ds = make_dataset(words, 3)
        assert set(ds.vocab.itos) == {"."} | set("".join(case.words))
        assert sum(ds.split_sizes) == sum(len(w) + 1 for w in words)


# ======================================================================================== (1) data files: the CLI

@pytest.mark.parametrize("case", DATA_CASES, ids=DATA_IDS)
def test_data_cli(case, tmp_path, capsys):
    data, out = tmp_path / f"{case.id}.txt", tmp_path / "model.safetensors"
    data.write_bytes(case.raw)
    code, stdout, err = run_cli(capsys, *tiny_train_args(data, out))
    if case.error:
        assert_one_error_line(code, stdout, err, (case.cli_error or case.error).format(name=data.name))
        assert not out.exists(), "a refused input must not leave a checkpoint"
    else:
        assert code == 0 and "Traceback" not in err, err
        assert ck.load(out).vocab == Vocab.from_words(list(case.words))


# =========================================================== (1) data files: the app's upload function (no Streamlit)

@pytest.mark.parametrize("case", DATA_CASES, ids=DATA_IDS)
def test_data_app_upload_function(case):
    h = Holder(Names.make(PREVIOUS, "previous.txt"))
    try:
        before = h.names
        if case.error:
            with pytest.raises(MLPLMError) as e:
                h.load_upload(f"{case.id}.txt", case.raw, file_id=case.id)
            assert str(e.value) == case.error
            assert h.names is before and h.last_upload_error == case.error and h.last_upload == case.id
            ds = h.dataset(3)  # the previous data is still the one in use, and still builds
            assert ds.words == PREVIOUS
        else:
            names = h.load_upload(f"{case.id}.txt", case.raw, file_id=case.id)
            assert names.words == case.words and h.names is names and names.name == f"{case.id}.txt"
            assert h.last_upload_error is None and h.dataset(3).words == case.words
    finally:
        h.close()


# ============================================================ (1) data files: the Data page (upload + paste), AppTest

def fresh_app() -> AppTest:
    """A new app session. AppTest gives every session the same id, so the session-scoped holder of an earlier
    AppTest would be reused: release it first."""
    st.cache_resource.clear()
    assert not list(OPEN_HOLDERS)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def the_holder() -> Holder:
    (h,) = list(OPEN_HOLDERS)
    return h


def page_metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def use_previous_upload(at) -> None:
    at.file_uploader(key="data_upload").set_value(("previous.txt", "\n".join(PREVIOUS).encode(), "text/plain")).run()
    assert not at.exception and not at.error
    assert the_holder().names.words == PREVIOUS and shown(at.subheader[0].value) == "previous.txt"


PASTE_CASES = [c for c in DATA_CASES if c.paste]


class TestDataPage:
    """The Data page through AppTest: one session for the class (torn down after it), each case restoring its
    own 'previous' data first."""

    @pytest.fixture(scope="class")
    def data_page(self):
        """One app session on the Data page, shared by the page cases (each case first restores its own 'previous')."""
        at = fresh_app()
        at.switch_page("app_pages/data.py").run()
        assert not at.exception, at.exception
        yield at
        st.cache_resource.clear()
        assert not trainer_threads() and not list(OPEN_HOLDERS)

    @pytest.mark.parametrize("case", DATA_CASES, ids=DATA_IDS)
    def test_data_app_upload_page(self, case, data_page):
        at = data_page
        use_previous_upload(at)
        before = the_holder().names
        name = f"{case.id}.txt"
        at.file_uploader(key="data_upload").set_value((name, case.raw, "text/plain")).run()
        assert not at.exception, at.exception
        if case.error:
            assert [shown(e.value) for e in at.error] == [f"{name}: {case.error}. Still using previous.txt."]
            assert the_holder().names is before
            assert shown(at.subheader[0].value) == "previous.txt" and page_metric(at, "Names") == str(len(PREVIOUS))
        else:
            assert not at.error, [e.value for e in at.error]
            assert the_holder().names.words == case.words and shown(at.subheader[0].value) == name
            assert page_metric(at, "Names") == str(len(case.words))
            assert page_metric(at, "Vocabulary") == str(len(set("".join(case.words))) + 1)

    @pytest.mark.parametrize("case", PASTE_CASES, ids=[c.id for c in PASTE_CASES])
    def test_data_app_paste_box(self, case, data_page):
        at = data_page
        at.file_uploader(key="data_upload").set_value(None).run()
        at.button(key="data_use_default").click().run()
        assert not at.exception and not at.error
        before = the_holder().names
        text = case.raw.decode("utf-8-sig")
        at.text_area(key="data_paste").set_value(text).run()
        at.button(key="data_use_paste").click().run()
        assert not at.exception, at.exception
        if case.error:
            assert [shown(e.value) for e in at.error] == [f"{case.error}. Still using names.txt (default)."]
            assert the_holder().names is before and page_metric(at, "Names") == "32,469"
        else:
            assert not at.error and the_holder().names.words == case.words
            assert page_metric(at, "Names") == str(len(case.words))

    def test_after_bad_uploads_the_previous_data_still_trains(self, data_page):
        """The last good upload stays in use through a run of bad ones, and a Step trains on it."""
        at = data_page
        use_previous_upload(at)
        for case in BAD_DATA[:4]:
            at.file_uploader(key="data_upload").set_value((f"{case.id}.txt", case.raw, "text/plain")).run()
            assert len(at.error) == 1
        at.slider(key="hidden").set_value(8)
        at.selectbox(key="step_n").set_value(10)
        at.run()
        at.button(key="btn_step").click().run()
        assert not at.exception, at.exception
        h = the_holder()
        end = time.time() + 10
        while h.snapshot().status != "paused" and time.time() < end:
            time.sleep(0.02)
        s = h.snapshot()
        assert (s.status, s.step) == ("paused", 10) and h.run_names.words == PREVIOUS
        assert h.run_dataset().vocab == Vocab.from_words(list(PREVIOUS))
        h.stop()
        assert not trainer_threads()


# ====================================================================================== (2) training settings

@dataclass(frozen=True)
class SettingsCase:
    id: str
    model: dict          # ModelConfig fields (besides vocab_size)
    train: dict          # TrainConfig fields
    flags: tuple         # the same as CLI flags
    outcome: str         # "finished", "diverged", or the exact ConfigError message


SETTINGS_CASES = [
    SettingsCase("batch-larger-than-the-training-split", {}, {"batch_size": 4096, "steps": 20},
                 ("--batch-size", 4096, "--steps", 20), "finished"),
    SettingsCase("largest-model-block16-emb64-hidden1024", {"block_size": 16, "emb_dim": 64, "hidden": 1024}, {"steps": 5},
                 ("--block-size", 16, "--emb-dim", 64, "--hidden", 1024, "--steps", 5), "finished"),
    SettingsCase("zero-steps", {}, {"steps": 0}, ("--steps", 0), "finished"),
    SettingsCase("zero-learning-rate", {}, {"lr": 0.0, "lr2": 0.0, "steps": 20},
                 ("--lr", 0, "--lr2", 0, "--steps", 20), "finished"),
    SettingsCase("learning-rate-100", {}, {"lr": 100.0, "steps": 200}, ("--lr", 100, "--steps", 200), "diverged"),
    SettingsCase("learning-rate-nan", {}, {"lr": float("nan")}, ("--lr", "nan"),
                 "lr must be a finite number ≥ 0, got nan"),
    SettingsCase("negative-learning-rate", {}, {"lr": -1.0}, ("--lr", "-1"), "lr must be a finite number ≥ 0, got -1.0"),
    SettingsCase("hidden-too-large", {"hidden": 5000}, {}, ("--hidden", 5000),
                 "hidden must be a whole number from 1 to 4096, got 5000"),
]
SETTINGS_IDS = [c.id for c in SETTINGS_CASES]
DIVERGED_PREFIX = f"diverged: the loss blew up (non-finite or over {DIVERGE_FACTOR:g}× its start)"


@pytest.fixture(scope="module")
def words8():
    return list(NAMES8)


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024


@pytest.mark.parametrize("case", SETTINGS_CASES, ids=SETTINGS_IDS)
def test_settings_core(case, words8):
    base = {"emb_dim": 2, "hidden": 8, "block_size": 3}
    block = case.model.get("block_size", 3)
    words = words8 if "largest" not in case.id else load_words(DEFAULT_DATA)[::10]  # a real-sized split
    ds = make_dataset(words, block)
    train = {"eval_interval": 0, "eval_train_rows": 1_000, **case.train}
    if case.outcome not in ("finished", "diverged"):
        with pytest.raises(ConfigError) as e:
            mc = ModelConfig(vocab_size=len(ds.vocab), **{**base, **case.model})
            Trainer(ds, mc, TrainConfig(**train))
        assert str(e.value) == case.outcome
        return
    mc = ModelConfig(vocab_size=len(ds.vocab), **{**base, **case.model})
    rss0 = rss_mb()
    t = Trainer(ds, mc, TrainConfig(**train))
    s = t.run()
    assert s.status == case.outcome, (s.status, s.message)
    assert all(torch.isfinite(v).all() for v in s.params.values()), "the kept parameters must be finite"
    assert np.all(np.isfinite(s.losses))
    if case.outcome == "diverged":
        assert s.message.startswith(DIVERGED_PREFIX) and "Lower the learning rate" in s.message
        assert s.step < case.train["steps"] and len(s.losses) == s.step
    else:
        assert s.step == case.train.get("steps", 0) and s.message == ""
    if case.id == "zero-steps":
        assert len(s.losses) == 0 and len(s.evals) == 1  # the untrained model is evaluated once
        assert all(torch.equal(s.params[k], t.params0[k]) for k in s.params)
    if case.id == "zero-learning-rate":
        assert all(torch.equal(s.params[k], t.params0[k]) for k in s.params), "lr 0 must not move the parameters"
    if "largest" in case.id:
        assert mc.n_params < 1_200_000
        assert peak_rss_mb() - rss0 < 1_000, "the largest model needed more than 1 GB"


@pytest.mark.parametrize("case", SETTINGS_CASES, ids=SETTINGS_IDS)
def test_settings_cli(case, tmp_path, capsys):
    data, out = tmp_path / "names.txt", tmp_path / "model.safetensors"
    data.write_text(TEXT8)
    args = ["train", "--data", data, "--emb-dim", "2", "--hidden", "8", "--eval-interval", "0", "--no-progress",
            "--out", out, "--json", *case.flags]
    code, stdout, err = run_cli(capsys, *args)
    assert "Traceback" not in stdout + err
    if case.outcome not in ("finished", "diverged"):
        assert_one_error_line(code, stdout, err, case.outcome)
        assert not out.exists()
        return
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["status"] == case.outcome
    saved = ck.load(out)  # whatever happened, the last good model is written
    assert saved.extra["status"] == case.outcome and saved.extra["step"] == result["steps"]
    assert all(torch.isfinite(v).all() for v in saved.params.values())
    if case.outcome == "diverged":
        assert code == 1
        (line,) = err.strip().splitlines()
        assert line.startswith(DIVERGED_PREFIX) and "kept the parameters of step" in line
    else:
        assert code == 0 and err.strip() == "", err


# ---- the app's sidebar: every one of these settings either works, or cannot be entered

def new_app(**values) -> AppTest:
    at = fresh_app()
    at.slider(key="emb_dim").set_value(values.pop("emb_dim", 2))
    at.slider(key="hidden").set_value(values.pop("hidden", 8))
    for key, v in values.items():
        for kind in ("slider", "select_slider", "number_input", "selectbox"):
            try:
                getattr(at, kind)(key=key).set_value(v)
                break
            except KeyError:
                continue
        else:
            raise KeyError(key)
    at.run()
    assert not at.exception, at.exception
    return at


def wait_for(h, statuses, timeout=20.0):
    end = time.time() + timeout
    while time.time() < end:
        s = h.snapshot()
        if s is not None and s.status in statuses:
            return s
        time.sleep(0.02)
    raise AssertionError(f"status {h.snapshot() and h.snapshot().status!r} never became one of {statuses}")


def test_settings_app_batch_larger_than_the_training_split(released_sessions):
    at = new_app(batch_size=4096, steps=20)
    at.switch_page("app_pages/data.py").run()
    at.text_area(key="data_paste").set_value(TEXT8).run()
    at.button(key="data_use_paste").click().run()
    assert page_metric(at, "Names") == "8"
    at.button(key="btn_start").click().run()
    s = wait_for(the_holder(), ("finished", "diverged", "error"))
    at.run()
    assert not at.exception and s.status == "finished" and s.train_config.batch_size == 4096
    assert s.step == 20 and np.isfinite(s.evals[-1].dev)


def test_settings_app_largest_model_steps_and_stays_small(released_sessions):
    rss0 = rss_mb()
    at = new_app(block_size=16, emb_dim=64, hidden=1024, step_n=10)
    at.button(key="btn_step").click().run()
    assert not at.exception, at.exception
    s = wait_for(the_holder(), ("paused", "error"))
    at.run()
    assert (s.status, s.step) == ("paused", 10)
    mc = s.model_config
    assert (mc.block_size, mc.emb_dim, mc.hidden) == (16, 64, 1024)
    assert page_metric(at, "Parameters") == f"{mc.n_params:,}"
    assert peak_rss_mb() - rss0 < 1_000, "the largest model (and its block-16 dataset) needed more than 1 GB"


@pytest.mark.parametrize("key, bad, lo, hi", [("steps", 0, 1, 5_000_000), ("lr", 0.0, 1e-6, 10.0),
                                              ("lr", 100.0, 1e-6, 10.0), ("lr", float("nan"), 1e-6, 10.0),
                                              ("lr", -1.0, 1e-6, 10.0)],
                         ids=["steps-0", "lr-0", "lr-100", "lr-nan", "lr-negative"])
def test_settings_app_out_of_range_values_cannot_reach_a_run(key, bad, lo, hi, released_sessions):
    """The sidebar's inputs only take values in range (the browser enforces it; Streamlit resets anything else to
    the input's minimum), so a run never sees steps 0, lr 0, lr 100 or nan; the run starts with a valid setting."""
    at = new_app(steps=50)
    at.number_input(key=key).set_value(bad).run()
    assert not at.exception, at.exception
    got = at.number_input(key=key).value
    assert lo <= got <= hi, got
    at.button(key="btn_start").click().run()
    assert not at.exception and not at.sidebar.error
    s = wait_for(the_holder(), ("finished", "diverged", "error"))
    assert s.status in ("finished", "diverged") and lo <= getattr(s.train_config, key) <= hi


def test_settings_app_diverging_run_keeps_last_good_model_and_the_app_stays_usable(released_sessions):
    """lr at the sidebar's maximum (10) with Adam diverges: a status and a message, finite parameters kept,
    every page still draws, and lowering the learning rate then Start trains normally."""
    at = new_app(steps=5_000, optimizer="adam", init="scaled", lr=10.0)
    at.button(key="btn_start").click().run()
    h = the_holder()
    s = wait_for(h, ("diverged", "finished", "error"))
    at.run()
    assert s.status == "diverged", s.status
    assert s.message.startswith(DIVERGED_PREFIX)
    assert all(torch.isfinite(v).all() for v in s.params.values()) and np.all(np.isfinite(s.losses))
    errors = [e.value for e in at.sidebar.error]
    assert len(errors) == 1 and "diverged" in errors[0] and "Lower the learning rate" in errors[0]
    for page in ("app_pages/embeddings.py", "app_pages/sampler.py", "app_pages/data.py", "app_pages/train.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
    at.number_input(key="lr").set_value(0.01).run()
    at.button(key="btn_start").click().run()
    assert not at.exception
    end = time.time() + 10
    while (h.snapshot().status == "diverged" or h.snapshot().step == 0) and time.time() < end:
        time.sleep(0.02)
    assert h.snapshot().status in ("running", "finished") and h.snapshot().step > 0
    assert h.snapshot().train_config.lr == pytest.approx(0.01)
    h.stop()


# ============================================================================================ (3) checkpoint files

def _good_checkpoint(words=NAMES8):
    vocab = Vocab.from_words(list(words))
    cfg = ModelConfig(vocab_size=len(vocab), emb_dim=2, hidden=8)
    return init_params(cfg), cfg, vocab


class _PickledBait:  # a stand-in object for a pickled model
    def __reduce__(self):
        return (dict, ([("C", [1.0, 2.0])],))


def _torch_save_bytes() -> bytes:
    buf = io.BytesIO()
    torch.save(_good_checkpoint()[0], buf)
    return buf.getvalue()


def _checkpoint_bytes() -> bytes:
    return ck.to_bytes(*_good_checkpoint())


@dataclass(frozen=True)
class CkptCase:
    id: str
    make: object        # () -> bytes
    error: str          # the exact message, {what} = "the upload" (bytes) or the file's name (path)


CKPT_CASES = [
    CkptCase("random-bytes", lambda: random.Random(0).randbytes(4096),
             "{what} is not a safetensors checkpoint, or is truncated (bad header length)"),
    CkptCase("truncated", lambda: _checkpoint_bytes()[: len(_checkpoint_bytes()) // 2],
             "{what} is corrupt or truncated (Error while deserializing: incomplete metadata, file not fully covered)"),
    CkptCase("truncated-inside-the-header", lambda: _checkpoint_bytes()[:20],
             "{what} is not a safetensors checkpoint, or is truncated (bad header length)"),
    CkptCase("python-pickle", lambda: pickle.dumps(_PickledBait()),
             "{what} is a Python pickle; only safetensors checkpoints are loaded (pickles can run code)"),
    CkptCase("torch-save-file", _torch_save_bytes,
             "{what} is a torch.save / zip file; only safetensors checkpoints are loaded (pickles can run code)"),
    CkptCase("empty", lambda: b"", "{what} is empty"),
    CkptCase("a-names-file", lambda: TEXT8.encode(),
             "{what} is not a safetensors checkpoint, or is truncated (bad header length)"),
] + [  # issue 12: crafted headers and metadata, control characters in the vocabulary, huge weights
    CkptCase(key, lambda key=key: CRAFTED[key][0], CRAFTED[key][1].replace("the upload", "{what}", 1))
    for key in ("duplicate-tensor", "shape-int", "version-dict", "config-nested-deep", "vocab-lone-surrogate",
                "vocab-escape", "vocab-right-to-left-override")
] + [
    CkptCase("huge-finite-weights", lambda: ck.to_bytes(*huge(W2=3e38)),
             "{what} has weights so large that the model's outputs can overflow: a hidden unit or logit can reach "
             "1.0e+39, beyond the 1e+38 float32 computes safely"),
]
CKPT_IDS = [c.id for c in CKPT_CASES]
VOCAB_MSG = ("the checkpoint's vocabulary (15 characters) differs from the data's (17): "
             "the data has 'zë' which the checkpoint lacks")


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


# ---- the app: Holder.load_model (the plain function) and the Train page's "Start from a model file" uploader

def small_values(**kw):
    from explorer.settings import default_values

    return {**default_values(), "emb_dim": 2, "hidden": 8, "steps": 100, **kw}


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


# ============================================================================================== --out is checked first

def test_cli_train_into_a_missing_runs_folder_keeps_the_model(tmp_path, capsys):
    data, out = tmp_path / "names.txt", tmp_path / "runs" / "model.safetensors"
    data.write_text(TEXT8)
    code, stdout, err = run_cli(capsys, *tiny_train_args(data, out))
    assert code == 0 and out.exists(), err


def test_cli_train_refuses_an_unwritable_out_before_training(tmp_path, capsys, monkeypatch):
    data = tmp_path / "names.txt"
    data.write_text(TEXT8)
    started = []
    monkeypatch.setattr(Trainer, "run", lambda self: started.append(1) or pytest.fail("trained before checking --out"))
    code, stdout, err = run_cli(capsys, *tiny_train_args(data, tmp_path))  # --out is a folder
    assert code == 2 and not started and err.startswith("error:"), err
