"""AppTest helpers shared by the tests of the inside-the-model views (test_app_forward, test_app_health,
test_app_timeline): a fresh app, the session's holder, polling, and the figures an element carries."""
from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from explorer.holder import OPEN_HOLDERS, Holder  # noqa: E402
from explorer.model_source import fresh_params  # noqa: E402
from explorer.session import shown  # noqa: E402
from explorer.settings import FIELDS, build_configs  # noqa: E402

APP = str(ROOT / "explorer" / "main.py")  # the script each session runs (app.py serves it)


def new_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page)
        at.run()
        assert not at.exception, at.exception
    return at


def holder() -> Holder:
    (h,) = list(OPEN_HOLDERS)
    return h


def sidebar_params(at: AppTest, vocab_size: int = 27):
    """The fresh init the sidebar's settings describe (what the pages show before any run)."""
    model, train = build_configs({k: at.session_state[k] for k in FIELDS}, vocab_size)
    return fresh_params(model, train.seed)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return run(at)


def small(at: AppTest, steps: int = 2_000, hidden: int = 32, **widgets) -> AppTest:
    """A small model (fast to train) with the given sidebar widgets set."""
    at.slider(key="hidden").set_value(hidden)
    at.number_input(key="steps").set_value(steps)
    for k, v in widgets.items():
        at.session_state[k] = v
    return run(at)


def poll(at: AppTest, cond, timeout: float = 60.0, every: float = 0.1) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        run(at)
        if cond():
            return True
        time.sleep(every)
    return False


def finish(at: AppTest) -> AppTest:
    click(at, "btn_start")
    assert poll(at, lambda: holder().snapshot().status == "finished"), "the run did not finish"
    return run(at)


def live_figures(at: AppTest) -> dict[str, dict]:
    """The figures of the live chart elements (explorer/live_chart.py) by their title; each validated by go.Figure,
    as the browser will draw it."""
    out = {}
    for el in at.get("bidi_component"):
        if el.proto.component_name != "mlp_lm_live_chart":
            continue
        data = json.loads(json.loads(el.proto.json)[0])
        if data["figure"] is not None:
            go.Figure(data["figure"])  # raises for anything plotly.js would not understand
            out[data["title"]] = data["figure"]
    return out


def plotly_figures(at: AppTest) -> list[dict]:
    """Every figure on the page: st.plotly_chart's, then the live chart elements' (the loss curve, the embeddings)."""
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")] + list(live_figures(at).values())


def numbers(a) -> np.ndarray:
    """A plotly data array: a plain list (None for gaps), or plotly's typed-array form {"dtype", "bdata"}."""
    if isinstance(a, dict) and "bdata" in a:
        return np.frombuffer(base64.b64decode(a["bdata"]), dtype=np.dtype(a["dtype"])).astype(np.float64)
    return np.array([np.nan if v is None else v for v in a], dtype=np.float64)


def texts(at: AppTest) -> str:
    """Every markdown, caption and alert text of the page, joined, as it reads (user text's escapes removed)."""
    kinds = ("markdown", "caption", "info", "success", "warning", "error")
    return shown("\n".join(e.value for kind in kinds for e in getattr(at, kind)))
