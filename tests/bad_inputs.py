"""Bad input, table-driven: the cases and helpers of tests/test_bad_data.py, test_bad_settings.py and
test_bad_checkpoints.py — every case through the core, the CLI and the app, each ending in one clear message.

Three tables:
  DATA_CASES      names files (bytes)                 → core load_words/make_dataset, CLI `train --data`,
                                                          app Holder.load_upload, the Data page's uploader
                                                          (and its paste box for the cases that are text)
  SETTINGS_CASES  training settings                   → core Trainer, CLI `train` flags, app sidebar
  CKPT_CASES      checkpoint files                    → core checkpoint.load/check_vocab, CLI `sample`/`score`
                                                          app Holder.load_model, the Train page's model uploader

A bad case must end in exactly one line (core: one MLPLMError; CLI: exit status 2 and one stderr line
"error: <the core's message>", no traceback; app: one st.error "<file>: <message>. Still using <previous>.") and
leave the previous data / model in use. A case marked "works" must work on every path. The messages are the
contract that docs/limits.md shows users; test_bad_checkpoints.py's test_limits_page_lists_every_message keeps
the two in sync.
"""
from __future__ import annotations

import codecs
import io
import pickle
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app_helpers import holder  # noqa: E402
from test_hostile_models import CRAFTED, huge  # noqa: E402
from explorer.holder import OPEN_HOLDERS  # noqa: E402
from explorer.session import shown  # noqa: E402
from mlp_lm import checkpoint as ck  # noqa: E402
from mlp_lm.cli import main  # noqa: E402
from mlp_lm.data import Vocab  # noqa: E402
from mlp_lm.errors import DataError  # noqa: E402
from mlp_lm.model import ModelConfig, init_params  # noqa: E402
from mlp_lm.trainer import DIVERGE_FACTOR  # noqa: E402

APP = str(ROOT / "explorer" / "main.py")  # the script each session runs (app.py serves it)
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


def fresh_app() -> AppTest:
    """A new app session. AppTest gives every session the same id, so the session-scoped holder of an earlier
    AppTest would be reused: release it first."""
    st.cache_resource.clear()
    assert not list(OPEN_HOLDERS)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


the_holder = holder  # the one open session's holder (tests/app_helpers.py)


def page_metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def use_previous_upload(at) -> None:
    at.file_uploader(key="data_upload").set_value(("previous.txt", "\n".join(PREVIOUS).encode(), "text/plain")).run()
    assert not at.exception and not at.error
    assert the_holder().names.words == PREVIOUS and shown(at.subheader[0].value) == "previous.txt"


PASTE_CASES = [c for c in DATA_CASES if c.paste]


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


def peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024


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


def small_values(**kw):
    from explorer.settings import default_values

    return {**default_values(), "emb_dim": 2, "hidden": 8, "steps": 100, **kw}
