"""Bad names files (tests/bad_inputs.py's DATA_CASES) through the core, the CLI, the app's upload function and the
Data page's uploader and paste box: one clear line each, and the previous data stays in use.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import streamlit as st

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conftest import trainer_threads  # noqa: E402
from bad_inputs import (BAD_DATA, DATA_CASES, DATA_IDS, PASTE_CASES, PREVIOUS, expect_data_error, fresh_app,  # noqa: E402
                        page_metric, run_cli, assert_one_error_line, the_holder, tiny_train_args, use_previous_upload)
from explorer.holder import OPEN_HOLDERS, Holder, Names  # noqa: E402
from explorer.session import shown  # noqa: E402
from mlp_lm import checkpoint as ck  # noqa: E402
from mlp_lm.data import Vocab, load_words, make_dataset  # noqa: E402
from mlp_lm.errors import MLPLMError  # noqa: E402

pytestmark = pytest.mark.usefixtures("warm_kernel")


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
