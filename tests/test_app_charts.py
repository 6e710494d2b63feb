"""The app's charts and status through AppTest: nothing stale after Reset or a model file, the status names the run
the page shows, the sampler labels every character, the lecture's line only on its data, the overfit reading, and
t-SNE with a tiny vocabulary (issue 11 §3–4, issue 12 item 7).

Helpers are copied from test_app.py (not imported: that file belongs to another change). Every test ends by clearing
st.cache_resource — a closing tab — and checking that no trainer thread is left (conftest's released_sessions).
"""
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app_helpers import plotly_figures  # noqa: E402
from conftest import trainer_threads  # noqa: E402
from explorer import session  # noqa: E402
from explorer.charts import CHOSEN_COLOUR  # noqa: E402
from explorer.holder import OPEN_HOLDERS, Holder  # noqa: E402
from mlp_lm.data import DEFAULT_DATA, load_words  # noqa: E402

APP = str(ROOT / "explorer" / "main.py")  # the script each session runs (app.py serves it)
pytestmark = pytest.mark.usefixtures("warm_kernel", "released_sessions")
SIXTEEN = load_words(DEFAULT_DATA)[:16]  # the "16 names": 12 train, 2 dev, 2 test


# ---------------------------------------------------------------------------------------------------------- helpers

def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def holder() -> Holder:
    (h,) = list(OPEN_HOLDERS)
    return h


def small(at: AppTest, steps: int = 2_000, hidden: int = 32) -> AppTest:
    at.slider(key="hidden").set_value(hidden)
    at.number_input(key="steps").set_value(steps)
    at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def poll(at: AppTest, cond, timeout: float = 30.0, every: float = 0.1) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        at.run()
        assert not at.exception, at.exception
        if cond():
            return True
        time.sleep(every)
    return False


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def finish_a_run(at: AppTest) -> AppTest:
    click(at, "btn_start")
    assert poll(at, lambda: holder().snapshot().status == "finished"), "the run did not finish"
    at.run()
    return at


def loss_chart(at: AppTest):
    """The figure the live loss chart element carries (None: the element was told to draw nothing)."""
    (el,) = [el for el in at.get("bidi_component") if el.proto.component_name == "mlp_lm_live_chart"]
    return json.loads(json.loads(el.proto.json)[0])["figure"]


def figures(at: AppTest) -> list[dict]:
    return plotly_figures(at)


def sidebar_status(at: AppTest) -> str:
    """The text of the sidebar's status box (the one alert that names a run)."""
    texts = [e.value for kind in ("info", "success", "warning", "error") for e in getattr(at.sidebar, kind)]
    return " ".join(t for t in texts if t.startswith("**") and "run " in t and "step" in t)


def paste(at: AppTest, words) -> AppTest:
    at.switch_page("app_pages/data.py").run()
    at.text_area(key="data_paste").set_value("\n".join(words)).run()
    click(at, "data_use_paste")
    assert not at.error, [e.value for e in at.error]
    return at


# ------------------------------------------------------------------------------------------- nothing stale (§4)

def test_reset_and_a_model_file_replace_the_last_runs_curve():
    at = finish_a_run(small(new_app()))
    fig = loss_chart(at)
    assert any(t.get("name") == "minibatch loss" for t in fig["data"])
    model = holder().model_bytes()
    click(at, "btn_reset")
    fig = loss_chart(at)
    # an empty figure, not None: None leaves whatever the browser drew, i.e. the old run's curve
    assert fig is not None and fig["data"] == [], "Reset left a curve on the chart"
    go.Figure(fig)  # a valid plotly figure
    text = " ".join(a["text"] for a in fig["layout"]["annotations"])
    assert "Run 2" in text and "no steps yet" in text
    assert metric(at, "Step") == "0"
    # a model loaded from a file: a new run whose chart is empty too, and a confirmation naming the file
    at.file_uploader(key="model_upload").set_value(("trained.safetensors", model, "application/octet-stream")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert holder().run_id == 3
    fig = loss_chart(at)
    assert fig is not None and fig["data"] == []
    assert "starts from trained.safetensors" in " ".join(a["text"] for a in fig["layout"]["annotations"])
    assert any("Loaded" in s.value and "trained" in s.value and "run 3" in s.value for s in at.success), \
        [s.value for s in at.success]


def test_a_new_start_shows_the_new_run_in_the_status_and_on_the_page():
    at = finish_a_run(small(new_app(), steps=1_000))
    assert "finished" in sidebar_status(at) and "run 1" in sidebar_status(at)
    small(at, steps=1_000_000)
    click(at, "btn_start")  # a new run: the last one ended
    status = sidebar_status(at)
    assert "finished" not in status, status
    assert "run 2" in status and ("running" in status or "starting" in status), status
    progress = at.get("progress")[0].proto.text
    assert "run 2" in progress, progress
    # while it trains, the status refreshes as often as the page's live view (before: every 1.5 s against 0.5 s)
    assert session.STATUS_SECONDS == session.REFRESH_SECONDS
    at.run()
    page_step = int(metric(at, "Step").replace(",", ""))
    status_step = int(sidebar_status(at).split("step ")[1].split(" /")[0].replace(",", ""))
    assert status_step >= page_step, "the status (drawn after the page) must not be behind it"


def test_an_upload_is_named_in_the_sidebar_at_once():
    at = new_app()
    at.switch_page("app_pages/data.py").run()
    at.file_uploader(key="data_upload").set_value(("classroom.txt", "\n".join(SIXTEEN).encode(), "text/plain")).run()
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "Data: classroom.txt · 16 names" in captions, captions


def _path_to(node, key: str, path=()) -> tuple | None:
    """The block ids from the root down to the widget with this key (None: not in the tree)."""
    for child in getattr(node, "children", {}).values():
        if getattr(child, "key", None) == key:
            return path
        found = _path_to(child, key, path + (getattr(getattr(child, "proto", None), "id", "") or "",))
        if found is not None:
            return found
    return None


def test_the_loss_charts_view_controls_rerun_only_the_live_fragment():
    """The log10 / whole-range / smoothing / window controls sit inside the Train page's live fragment (a change
    reruns the metrics and the chart, not the sidebar and the page: the click answers sooner) and still change the
    chart."""
    at = finish_a_run(small(new_app(), steps=500))
    for key in ("train_log10", "train_whole_y", "train_smoothing", "train_window"):
        path = _path_to(at.main, key)
        assert path is not None and any(p.endswith("live-train_live") for p in path), (key, path)
    assert loss_chart(at)["layout"]["yaxis"]["title"]["text"] == "log10(loss)"
    at.toggle(key="train_log10").set_value(False).run()
    assert not at.exception, at.exception
    assert loss_chart(at)["layout"]["yaxis"]["title"]["text"] == "loss"


def test_the_diverged_message_says_diverged_once():
    snap = SimpleNamespace(status="diverged", step=10, steps=100, message="diverged: the loss blew up at lr 10")
    kind, _, text = session.status_text(snap)
    assert kind == "error" and text.count("diverged") == 1 and "the loss blew up" in text


def test_the_lecture_line_is_only_drawn_on_the_default_names():
    at = new_app()
    paste(at, SIXTEEN)
    at.switch_page("app_pages/train.py").run()
    finish_a_run(small(at, steps=500))
    texts = [a.get("text", "") for a in loss_chart(at)["layout"]["annotations"]]
    refs = [t for t in texts if t and not t.startswith("↑")]  # reference-line labels (not the clipping note)
    assert any(t.startswith("bigram baseline") for t in refs), texts
    assert all(t.startswith("bigram baseline") for t in refs), texts  # no lecture / preset target on other data


def test_each_preset_draws_its_own_target_line():
    at = new_app()
    at.selectbox(key="preset").set_value("Init fixed (dev ≈ 2.10)").run()
    at.switch_page("app_pages/train.py").run()
    at.number_input(key="steps").set_value(300).run()  # steps differ from the preset: own settings → the lecture's
    finish_a_run(at)
    texts = [a.get("text", "") for a in loss_chart(at)["layout"]["annotations"]]
    assert any(t.startswith("makemore part 2<br>2.17") for t in texts), texts
    from explorer.settings import preset_of, build_configs, preset_values

    m, t = build_configs(preset_values("Init fixed (dev ≈ 2.10)") | {"seed": 7}, 27)
    assert preset_of(m, t) == "init_fixed" and preset_of(m, t.replace(steps=300)) is None


def test_an_obvious_overfit_gets_a_plain_reading_and_a_known_test_loss_is_shown(monkeypatch):
    at = new_app()
    paste(at, SIXTEEN)
    at.switch_page("app_pages/train.py").run()
    finish_a_run(small(at, steps=2_000, hidden=200))
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Overfitting") and "12 training names" in w for w in warnings), warnings
    # the lead's Snapshot.final (full-split losses at the end of a run) when the trainer provides it
    snap = holder().snapshot()
    final = SimpleNamespace(**{**{f: getattr(snap, f) for f in snap.__dataclass_fields__},
                               "final": {"train": 0.31, "dev": 8.09, "test": 7.5}})
    final.done, final.last_eval = snap.done, snap.last_eval
    monkeypatch.setattr(Holder, "snapshot", lambda self: final)
    at.run()
    assert not at.exception, at.exception
    assert any("test 7.5000" in c.value for c in at.caption), [c.value for c in at.caption]
    assert any("26.1×" in w.value for w in at.warning)


# ------------------------------------------------------------------------------------------------- charts (§3)

def test_the_sampler_labels_every_character_and_names_the_drawn_one():
    at = finish_a_run(small(new_app()))
    at.switch_page("app_pages/sampler.py").run()
    click(at, "samp_generate")
    itos = list(holder().run_dataset().vocab.itos)
    bars = [f for f in figures(at) if f["data"] and f["data"][0].get("name") == "P(next char)"
            and f["layout"]["title"]["text"].startswith("Step ")]
    assert len(bars) == 1, "one large bar chart for the chosen step"
    bar = bars[0]
    assert bar["layout"]["xaxis"]["tickvals"] == itos == bar["layout"]["xaxis"]["ticktext"], "every character labelled"
    assert bar["data"][0]["marker"]["color"].count(CHOSEN_COLOUR) == 1
    drawn = itos[bar["data"][0]["marker"]["color"].index(CHOSEN_COLOUR)]
    assert any(a["text"].startswith(f"drew '{drawn}'") for a in bar["layout"]["annotations"])
    assert f"drew '{drawn}'" in bar["layout"]["title"]["text"]
    (heat,) = [f for f in figures(at) if f["data"] and f["data"][0].get("type") == "heatmap"]
    steps = len(heat["data"][0]["y"])
    assert heat["layout"]["xaxis"]["tickvals"] == itos and len(heat["data"][1]["x"]) == steps  # a mark per step
    # choosing another step redraws the bars for it, and boxes its row in the heatmap
    if steps > 1:
        at.segmented_control[0].set_value(1).run()
        assert not at.exception
        bar = next(f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("Step "))
        assert bar["layout"]["title"]["text"].startswith(f"Step 2 of {steps}:")
        heat = next(f for f in figures(at) if f["data"] and f["data"][0].get("type") == "heatmap")
        assert heat["layout"]["shapes"][0]["y0"] == pytest.approx(0.5)


@pytest.mark.parametrize("letters", ["ab", "abc", "abcd"], ids=["3-chars", "4-chars", "5-chars"])
def test_tsne_with_a_tiny_vocabulary_has_no_exception(letters):
    rng = np.random.default_rng(0)
    words = sorted({"".join(rng.choice(list(letters), size=rng.integers(2, 6))) for _ in range(60)})
    at = new_app()
    paste(at, words)
    at.switch_page("app_pages/train.py").run()
    finish_a_run(small(at, steps=300))
    at.switch_page("app_pages/embeddings.py").run()
    at.radio(key="emb_view").set_value("t-SNE").run()
    assert not at.exception, at.exception
    (fig,) = [f for f in figures(at) if any(t.get("name") == "vowel" for t in f["data"])]
    assert len(holder().run_dataset().vocab.itos) == len(letters) + 1
    if len(letters) + 1 <= 4:
        assert any("nothing to choose" in c.value for c in at.caption)
    else:
        (slider,) = [w for w in at.slider if w.label.startswith("Perplexity")]
        assert (slider.proto.min, slider.proto.max) == (2, 3)  # perplexity < 5 points
    at.toggle(key="emb_zoom").set_value(True).run()
    assert not at.exception, at.exception
    assert not trainer_threads() or holder().snapshot().done
