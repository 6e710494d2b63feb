"""Issue 12 items 6 and 11: text from users — names, characters, file names, run names, typed text — is shown
literally on every page: never rendered as Markdown, LaTeX, Streamlit directives, HTML, links or images, and never as
Plotly's HTML subset in a chart label.

One session uploads a names file whose *file name* and *names* carry each kind of markup, trains a small run, names
the run with markup, types markup into the Sampler's and the Forward pass's text boxes, and visits every page; every
element that interprets Markdown (text elements, alerts, widget labels, pills / segmented options) must hold the
markup only escaped, and every chart's labels only with `<`, `>` as entities.
"""
from __future__ import annotations

import json
import re

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app_helpers import APP, holder, poll, run
from explorer.holder import OPEN_HOLDERS
from explorer.session import md_literal, shown

pytestmark = pytest.mark.usefixtures("warm_kernel", "released_sessions")

MARKUP = ["**b**", "$x$", ":red[x]", "<b>x</b>", "[x](javascript:alert(1))", "![f](http://127.0.0.1:9/x)", ":smile:"]
FILE_NAME = "![f](http://127.0.0.1:9/x) **b** :red[r] $x$ <b>x</b>.txt"
NAMES = ["**b**", "$x$", ":red[x]", "<b>x</b>", "[x](javascript:alert(1))", "![f](http:/h/x)", "emma", "olivia",
         "ava", "isabella", "sophia", "mia", "charlotte", "amelia", "harper", "evelyn"]
PAGES = ["app_pages/train.py", "app_pages/forward.py", "app_pages/sweep.py", "app_pages/embeddings.py",
         "app_pages/sampler.py", "app_pages/runs.py", "app_pages/data.py", "app_pages/grid.py"]

# Markup left active: each pattern matches only where the markup's key character is not backslash-escaped.
ACTIVE = [re.compile(p) for p in (
    r"(?<!\\)\*(?<!\\)\*b",            # **b** bold
    r"(?<!\\)\$x(?<!\\)\$",            # $x$ LaTeX
    r"(?<!\\):red(?<!\\)\[",           # :red[...] colour directive
    r"(?<!\\)<b(?<!\\)>",              # <b> HTML
    r"(?<!\\)\](?<!\\)\(javascript",   # [x](javascript:...) link
    r"!(?<!\\)\[f",                    # ![f](...) image
    r"(?<!\\):smile(?<!\\):",          # :smile: emoji shortcode
)]
MARKDOWN_KINDS = ("markdown", "caption", "info", "success", "warning", "error", "subheader", "header", "title", "toast")
WIDGET_KINDS = ("button", "selectbox", "multiselect", "text_input", "text_area", "number_input", "slider",
                "select_slider", "radio", "checkbox", "toggle", "expander", "tabs")


def markdown_texts(at: AppTest) -> list[str]:
    """Every string on the page that Streamlit renders as Markdown: text elements, alerts, widget labels, and the
    options of pills / segmented controls / radios."""
    out = [e.value for kind in MARKDOWN_KINDS for e in getattr(at, kind, [])]
    for kind in WIDGET_KINDS:
        for w in getattr(at, kind, []):
            out.append(str(getattr(w, "label", "") or ""))
    for g in at.get("button_group"):
        out.extend(o.content for o in g.proto.options)
    for r in at.radio:
        out.extend(str(o) for o in r.options)
    return out


def plotly_specs(at: AppTest) -> list[str]:
    return [el.proto.spec for el in at.get("plotly_chart")] + \
           [el.proto.json for el in at.get("bidi_component")]


def assert_literal(at: AppTest, where: str) -> None:
    assert not at.exception, (where, at.exception)
    for text in markdown_texts(at):
        for pat in ACTIVE:
            assert not pat.search(text), f"{where}: markup left active ({pat.pattern}) in {text!r}"
    for spec in plotly_specs(at):
        body = json.loads(spec) if spec.startswith(("{", "[")) else spec
        raw = json.dumps(body)
        assert not re.search(r"</?b>", raw), f"{where}: a chart label carries raw HTML from user text"


@pytest.fixture
def session(tmp_path, monkeypatch):
    monkeypatch.setenv("MLP_LM_RUNS_DIR", str(tmp_path / "runs"))
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("app_pages/data.py").run()
    at.file_uploader(key="data_upload").set_value((FILE_NAME, "\n".join(NAMES).encode(), "text/plain")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert list(holder().names.words) == NAMES
    yield at
    st.cache_resource.clear()
    assert not list(OPEN_HOLDERS)


def test_the_escaper_shows_every_markup_as_typed():
    for text in [*MARKUP, FILE_NAME, "# heading", "- item", "1. item", "> quote", "a \\ b", "http://h/x", "www.h.x", "a@b.c"]:
        md = md_literal(text)
        assert shown(md) == text
        assert not any(p.search(md) for p in ACTIVE), md
        assert not re.search(r"[a-z]\\?:/|www\.|[^\u2060]@", md), f"a bare address left linkable: {md!r}"


def test_markup_in_file_names_names_run_names_and_typed_text_is_shown_literally_on_every_page(session):
    at = session
    # the file name, as the Data page and the sidebar show it
    assert shown(at.subheader[0].value) == FILE_NAME
    assert any(md_literal(FILE_NAME) in c.value for c in at.sidebar.caption)
    assert_literal(at, "data page after the upload")

    # a bad upload names the file in its error, the previous (markup) names stay
    at.file_uploader(key="data_upload").set_value((FILE_NAME, b"only\none\n", "text/plain")).run()
    (err,) = at.error
    assert shown(err.value).startswith(FILE_NAME + ": ") and md_literal(FILE_NAME) in err.value
    assert_literal(at, "data page, a bad upload")
    at.file_uploader(key="data_upload").set_value((FILE_NAME, "\n".join(NAMES).encode(), "text/plain")).run()

    # a small run on those names
    at.slider(key="hidden").set_value(16)
    at.number_input(key="steps").set_value(300)
    run(at)
    at.button(key="btn_start").click()
    run(at)
    assert poll(at, lambda: holder().snapshot() is not None and holder().snapshot().status == "finished")
    run_id = holder().recorder.run_id

    for page in PAGES:
        at.switch_page(page).run()
        assert_literal(at, page)

    # a second run, so the first can be opened; the first renamed with markup: the Runs page, and the banner and
    # model line of the model pages once it is opened
    at.button(key="btn_reset").click()
    run(at)
    at.button(key="btn_start").click()
    run(at)
    assert poll(at, lambda: holder().recorder.run_id != run_id and holder().snapshot().status == "finished")
    at.switch_page("app_pages/runs.py").run()
    at.selectbox(key="runs_focus").set_value(run_id).run()
    at.text_input(key=f"runs_rename_{run_id}").input("**b** $x$ :red[x] <b>x</b>").run()
    assert_literal(at, "runs page after a rename")
    at.button(key="runs_open").click().run()  # its model becomes the one the model pages show
    for page in ("app_pages/sampler.py", "app_pages/forward.py", "app_pages/embeddings.py"):
        at.switch_page(page).run()
        assert_literal(at, f"{page} with the renamed run")

    # typed text: the Sampler's "Score a name" and the Forward pass's example name
    at.switch_page("app_pages/sampler.py").run()
    at.session_state["samp_tab"] = "Score a name"
    run(at)
    for typed in ("**b**", "<b>x</b>", "$x$", "zz*q"):
        at.text_input(key="samp_typed").input(typed).run()
        assert_literal(at, f"sampler, scoring {typed!r}")
    at.session_state["samp_tab"] = "Generate"
    run(at)
    at.button(key="samp_generate").click().run()
    assert_literal(at, "sampler after Generate")
    at.session_state["samp_tab"] = "Step by step"
    run(at)
    for _ in range(4):
        at.button(key="samp_next").click().run()
    assert_literal(at, "sampler, step by step")

    at.switch_page("app_pages/forward.py").run()
    for typed in ("**b**", "<b>x</b>", ":red[x]", "zz*q"):
        at.text_input(key="fwd_name").input(typed).run()
        assert_literal(at, f"forward pass, example {typed!r}")
