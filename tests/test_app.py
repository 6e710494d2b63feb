"""The Streamlit app through streamlit.testing.v1.AppTest (no browser): pages, run controls, sweep, sampler, data.

AppTest never fires `run_every`, so live views are polled with repeated `at.run()`. Every test ends by clearing
st.cache_resource — that is what a closing tab does to the session-scoped holder (its on_release stops the trainer) —
and checking that no "mlp_lm-trainer" thread is left.
"""
import base64
import json
import sys
import time
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from explorer.charts import CHOSEN_COLOUR  # noqa: E402
from conftest import trainer_threads  # noqa: E402
from explorer.holder import OPEN_HOLDERS, Holder, parse_upload  # noqa: E402
from mlp_lm.data import DataError  # noqa: E402
from mlp_lm.errors import MLPLMError  # noqa: E402
from mlp_lm.presets import PRESETS  # noqa: E402

APP = str(ROOT / "explorer" / "main.py")  # the script each session runs (app.py serves it)
pytestmark = pytest.mark.usefixtures("warm_kernel", "released_sessions")
PAGES = ["app_pages/train.py", "app_pages/sweep.py", "app_pages/embeddings.py", "app_pages/sampler.py",
         "app_pages/data.py"]





# ---------------------------------------------------------------------------------------------------------- helpers

def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def holder() -> Holder:
    (h,) = list(OPEN_HOLDERS)  # one session → one holder
    return h


def small(at: AppTest, steps: int = 2_000, **extra) -> AppTest:
    """Small, fast settings in the sidebar."""
    at.slider(key="hidden").set_value(extra.pop("hidden", 32))
    at.number_input(key="steps").set_value(steps)
    for key, value in extra.items():
        _find(at, key).set_value(value)
    at.run()
    assert not at.exception, at.exception
    return at


def _find(at: AppTest, key: str):
    for kind in ("slider", "select_slider", "number_input", "selectbox", "radio"):
        try:
            return getattr(at, kind)(key=key)
        except KeyError:
            continue
    raise KeyError(key)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def step_metric(at: AppTest) -> int:
    return int(metric(at, "Step").replace(",", ""))


def poll(at: AppTest, cond, timeout: float = 20.0, every: float = 0.1) -> bool:
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


def figures(at: AppTest) -> list[dict]:
    """The figure JSON of every plotly chart on the page (AppTest has no plotly accessor), st.plotly_chart's and
    the live loss chart's (explorer/live_chart.py, a component whose data carries the figure)."""
    figs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    live = [el for el in at.get("bidi_component") if el.proto.component_name == "mlp_lm_live_chart"]
    live = [json.loads(json.loads(el.proto.json)[0])["figure"] for el in live]  # the data: [one JSON text]
    return figs + [f for f in live if f is not None]  # None: no data yet


def numbers(a) -> np.ndarray:
    """A plotly data array: a plain list, or plotly's typed-array form {"dtype", "bdata"}."""
    if isinstance(a, dict) and "bdata" in a:
        return np.frombuffer(base64.b64decode(a["bdata"]), dtype=np.dtype(a["dtype"]))
    return np.asarray(a, dtype=np.float64)


# ------------------------------------------------------------------------------------------------------------ tests

def test_every_page_renders_before_training_and_says_what_to_do():
    at = new_app()
    assert [m.label for m in at.metric] == ["Step", "Train loss", "Dev loss", "Learning rate", "Parameters"]
    assert metric(at, "Parameters") == "11,897"  # the lecture's model, the default preset
    labels = [b.label for b in at.sidebar.button]
    for name in ("Start", "Pause", "Resume", "Step", "Stop", "Reset"):
        assert name in labels
    at.selectbox(key="preset").set_value("Fast").run()  # a preset sets the widgets
    assert (at.number_input(key="steps").value, at.selectbox(key="optimizer").value, at.select_slider(key="batch_size").value,
            at.selectbox(key="schedule").value, at.selectbox(key="init").value) == tuple(
        PRESETS["fast"][k] for k in ("steps", "optimizer", "batch_size", "schedule", "init"))
    at.selectbox(key="preset").set_value("2-D embeddings").run()
    assert at.slider(key="emb_dim").value == 2 and at.slider(key="hidden").value == 100
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        text = " ".join(i.value for i in at.info)
        assert "Start" in text or "Run sweep" in text or page.endswith("data.py"), (page, text)
    assert metric(at, "Names") == "32,469"
    table = next(c.value for c in at.code if "--->" in c.value)
    assert table.splitlines()[:2] == ["... ---> e", "..e ---> m"]  # the lecture's "emma" table
    assert not trainer_threads()


def test_sidebar_settings_reach_the_trainer_and_lr_changes_live():
    at = small(new_app(), steps=1_000_000, emb_dim=5, block_size=4, batch_size=64, optimizer="adam",
               schedule="constant", init="scaled")
    at.number_input(key="lr").set_value(0.005)
    at.run()
    click(at, "btn_start")
    assert poll(at, lambda: step_metric(at) > 0), "Start did not advance the Step metric"
    snap = holder().snapshot()
    mc, tc = snap.model_config, snap.train_config
    assert (mc.hidden, mc.emb_dim, mc.block_size, mc.init) == (32, 5, 4, "scaled")
    assert (tc.steps, tc.batch_size, tc.optimizer, tc.schedule, tc.lr, tc.threads) == (1_000_000, 64, "adam", "constant", 0.005, 1)
    # the learning rate reaches the running trainer at once ...
    at.number_input(key="lr").set_value(0.002)
    at.run()
    assert holder().trainer.cfg.lr == pytest.approx(0.002)
    assert poll(at, lambda: metric(at, "Learning rate") == "0.002", timeout=5)
    # ... other settings are shown as applying to the next run, and do not touch this one
    at.slider(key="hidden").set_value(48)
    at.run()
    warning = " ".join(w.value for w in at.sidebar.warning)
    assert "next run" in warning and "32 → 48" in warning
    assert holder().snapshot().model_config.hidden == 32
    # Reset stops the run and makes a fresh idle one with the new settings
    old = holder().trainer
    click(at, "btn_reset")
    assert not old.alive and holder().trainer is not old
    assert holder().snapshot().status == "idle" and holder().snapshot().model_config.hidden == 48
    assert step_metric(at) == 0


def test_start_pause_resume_stop():
    at = small(new_app(), steps=1_000_000)
    click(at, "btn_start")
    assert poll(at, lambda: step_metric(at) > 0), "Start did not advance the Step metric"
    click(at, "btn_pause")
    assert poll(at, lambda: holder().snapshot().status == "paused", timeout=5)
    at.run()
    held = step_metric(at)
    assert held == holder().snapshot().step > 0
    time.sleep(0.4)
    at.run()
    assert step_metric(at) == held, "Pause did not hold the step"
    assert any("paused" in i.value for i in at.sidebar.warning)
    click(at, "btn_resume")
    assert poll(at, lambda: step_metric(at) > held), "Resume did not continue"
    trainer = holder().trainer
    click(at, "btn_stop")
    assert not trainer.alive and not trainer_threads(), "Stop did not end the training thread"
    assert holder().snapshot().status == "stopped"
    poll(at, lambda: True, timeout=0)
    assert any("stopped" in w.value for w in at.sidebar.warning)


def test_step_runs_the_chosen_number_of_steps_then_pauses():
    at = small(new_app(), steps=50_000)
    at.selectbox(key="step_n").set_value(100)
    at.run()
    click(at, "btn_step")
    assert poll(at, lambda: holder().snapshot().status == "paused" and step_metric(at) == 100, timeout=15)
    click(at, "btn_step")
    assert poll(at, lambda: holder().snapshot().status == "paused" and step_metric(at) == 200, timeout=15)


def test_a_finished_run_shows_curve_evals_and_references():
    at = small(new_app(), steps=2_000)
    click(at, "btn_start")
    assert poll(at, lambda: holder().snapshot().status == "finished")
    at.run()
    assert step_metric(at) == 2_000
    assert float(metric(at, "Dev loss")) < 3.3  # log(27) ≈ 3.30 is a uniform guess
    (fig,) = [f for f in figures(at) if any(t.get("name") == "minibatch loss" for t in f["data"])]
    go.Figure(fig)  # the live chart's figure is built as a plain dict (charts.loss_spec): plotly's validation accepts it
    names = [t.get("name") for t in fig["data"]]
    assert "dev (eval)" in names and "train (eval)" in names and any(n.startswith("smoothed") for n in names)
    assert len(numbers(fig["data"][0]["x"])) <= 2_000
    texts = [a.get("text", "") for a in fig["layout"].get("annotations", [])]
    assert any(t.startswith("bigram baseline") for t in texts) and any(t.startswith("makemore part 2<br>2.17") for t in texts)
    assert any("finished" in s.value for s in at.sidebar.success)


def test_a_diverging_run_says_why_and_keeps_the_app_usable():
    at = small(new_app(), steps=5_000, optimizer="adam", init="scaled")
    at.number_input(key="lr").set_value(10.0)
    at.run()
    click(at, "btn_start")
    assert poll(at, lambda: holder().snapshot().status == "diverged")
    at.run()
    errors = " ".join(e.value for e in at.sidebar.error)
    assert "diverged" in errors and "Lower the learning rate" in errors
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)


def test_sweep_draws_named_suggestions_and_copies_one_into_the_sidebar():
    at = new_app()
    at.switch_page("app_pages/sweep.py").run()
    at.number_input(key="sweep_num").set_value(400)
    click(at, "sweep_run")
    assert not at.error, [e.value for e in at.error]
    fig = next(f for f in figures(at) if f["layout"]["xaxis"].get("type") == "log")
    names = [t.get("name", "") for t in fig["data"]]
    for s in ("valley", "steepest", "minimum / 10"):
        assert any(n.startswith(s + ":") for n in names), names
    button = next(b for b in at.button if b.label.startswith("Use valley"))
    lr = float(button.label.split(":")[1])
    button.click().run()
    assert at.session_state["lr"] == pytest.approx(lr, rel=1e-2)
    assert at.number_input(key="lr").value == pytest.approx(lr, rel=1e-2)
    assert not trainer_threads(), "the sweep must not start a run"


def test_sweep_on_the_current_model_leaves_the_run_alone():
    at = small(new_app(), steps=1_000_000)
    click(at, "btn_start")
    assert poll(at, lambda: step_metric(at) > 0)
    at.switch_page("app_pages/sweep.py").run()
    at.radio(key="sweep_source").set_value("current").run()
    at.number_input(key="sweep_num").set_value(300)
    trainer, before = holder().trainer, holder().snapshot().params["C"].clone()
    click(at, "sweep_run")
    assert not at.error and "current model of run 1" in " ".join(c.value for c in at.caption)
    assert holder().trainer is trainer and trainer.alive and holder().snapshot().status == "running"
    step = holder().snapshot().step
    assert poll(at, lambda: holder().snapshot().step > step, timeout=5), "the run stopped during the sweep"
    assert before.shape == holder().snapshot().params["C"].shape


def test_sampler_bars_are_distributions_and_bad_names_do_not_crash():
    at = small(new_app(), steps=2_000)
    click(at, "btn_start")
    assert poll(at, lambda: holder().snapshot().status == "finished")
    at.switch_page("app_pages/sampler.py").run()
    assert not at.exception
    click(at, "samp_generate")
    bars = [f for f in figures(at) if f["data"] and f["data"][0].get("type") == "bar" and f["data"][0].get("name") == "P(next char)"]
    assert bars, "no probability bars for the chosen name"
    for f in bars:
        y = numbers(f["data"][0]["y"])
        assert y.sum() == pytest.approx(1.0, abs=1e-5)
        colours = f["data"][0]["marker"]["color"]
        assert colours.count(CHOSEN_COLOUR) == 1, "exactly the drawn character is highlighted"
    assert {"in-train", "dev/test", "novel"} >= set(at.dataframe[0].value["where"])
    # step by step (only the open tab is drawn)
    at.session_state["samp_tab"] = "Step by step"
    at.run()
    click(at, "samp_next")
    step_bars = [f for f in figures(at) if f["layout"].get("title", {}).get("text", "").startswith("step 1:")]
    assert len(step_bars) == 1 and numbers(step_bars[0]["data"][0]["y"]).sum() == pytest.approx(1.0, abs=1e-5)
    # a typed name: per-character probabilities; a character outside the vocabulary is an error, not a crash
    at.session_state["samp_tab"] = "Score a name"
    at.run()
    at.text_input(key="samp_typed").set_value("emma").run()
    assert metric(at, "per character")
    at.text_input(key="samp_typed").set_value("em9a").run()
    assert not at.exception and any("not in the vocabulary" in e.value for e in at.error)


def test_embeddings_views_render_while_training():
    at = small(new_app(), steps=1_000_000, emb_dim=2)
    click(at, "btn_start")
    assert poll(at, lambda: step_metric(at) > 0)
    at.switch_page("app_pages/embeddings.py").run()
    for view in ("raw dimensions", "PCA", "t-SNE"):
        at.radio(key="emb_view").set_value(view).run()
        assert not at.exception, (view, at.exception)
        (fig,) = [f for f in figures(at) if any(t.get("name") == "vowel" for t in f["data"])]
        vowels = next(t for t in fig["data"] if t.get("name") == "vowel")
        assert sorted(vowels["text"]) == ["a", "e", "i", "o", "u"]
    assert "%" in fig["layout"]["title"]["text"] or view == "t-SNE"
    assert len(at.dataframe[0].value) == 5  # nearest neighbours


def test_bad_pasted_names_show_the_core_message_and_keep_the_data():
    at = new_app()
    at.switch_page("app_pages/data.py").run()
    before = holder().names
    at.text_area(key="data_paste").set_value("anna\nbad.name\nbob\n").run()
    click(at, "data_use_paste")
    assert any("contains '.'" in e.value for e in at.error), [e.value for e in at.error]
    assert holder().names is before and metric(at, "Names") == "32,469"
    at.text_area(key="data_paste").set_value("anna\nbob\ncarl\ndora\nemil\nfrida\ngus\n").run()
    click(at, "data_use_paste")
    assert not at.error and metric(at, "Names") == "7" and metric(at, "Vocabulary") == str(len(set("annabobcarldoraemilfridagus")) + 1)


def test_bad_upload_raises_the_core_message_and_keeps_the_previous_data():
    h = Holder()
    try:
        before = h.names
        for raw, msg in ((b"\x00\x01binary", "binary"), (b"\xff\xfe\xfa", "UTF"), (b"", "no names"), (b"ann\nbo\n", "at least 6")):
            with pytest.raises(MLPLMError) as e:
                h.load_upload("bad.txt", raw, file_id=f"id-{msg}")
            assert msg.lower() in str(e.value).lower(), str(e.value)
            assert h.names is before and h.last_upload_error == str(e.value)
        good = "\ufeff" + "\n".join(["ann", "bo", "cy", "dee", "eve", "flo", "gil"])
        h.load_upload("good.txt", good.encode("utf-8"), file_id="good")
        assert h.names.name == "good.txt" and len(h.names.words) == 7 and h.last_upload_error is None
        assert h.dataset(3).vocab.itos[0] == "."
        with pytest.raises(DataError):
            parse_upload("x", "not bytes")  # type: ignore[arg-type]
    finally:
        h.close()


def test_modules_that_mention_threads_make_no_streamlit_calls():
    for path in (ROOT / "explorer").rglob("*.py"):
        text = path.read_text()
        if "threading.Thread" in text or "Thread(" in text:
            assert "st." not in text, f"{path} deals with threads and calls Streamlit"


# ---------------------------------------------------------------------------------------- the plain modules behind

def test_debiased_ema_is_tensorboards_smoothing():
    from explorer.series import debiased_ema, downsample, window

    v = np.array([3.0, 2.0, np.nan, 1.0, 4.0, 2.5])
    w, last, n, expected = 0.6, 0.0, 0, []
    for x in v:  # TensorBoard's loop; a non-finite point is skipped (here: shows the previous smoothed value)
        if np.isfinite(x):
            last, n = last * w + (1 - w) * x, n + 1
            expected.append(last / (1 - w ** n))
        else:
            expected.append(expected[-1])
    assert debiased_ema(v, w) == pytest.approx(expected)
    assert debiased_ema(v, w)[0] == pytest.approx(3.0)  # debiased: the first point is not pulled towards 0
    assert debiased_ema(v[:2], 0.0).tolist() == [3.0, 2.0]
    idx = downsample(20_000)
    assert len(idx) <= 2_000 and idx[0] == 0 and idx[-1] == 19_999
    steps = np.arange(100)
    assert window(steps, steps * 2, last=10)[0].tolist() == list(range(89, 100))


def test_projections_pca_tsne_neighbours_and_alignment():
    from explorer import projections as P

    rng = np.random.default_rng(0)
    C = rng.normal(size=(27, 10))
    xy, ratio = P.pca(C)
    assert xy.shape == (27, 2) and 0 < ratio.sum() <= 1 and ratio[0] >= ratio[1]
    assert P.tsne(C, perplexity=50, seed=0).shape == (27, 2)  # clamped below the number of points
    C2 = np.zeros((4, 2)); C2[:, 0] = [1, 2, -1, 0.1]; C2[3, 1] = 1
    assert [j for j, _ in P.nearest(C2, 0, 2)] == [1, 3]
    R = np.array([[0.0, -1.0], [1.0, 0.0]])
    assert P.align(xy, xy @ R) == pytest.approx(xy, abs=1e-9)
    assert P.align_signs(xy, -xy) == pytest.approx(xy)
    assert [P.category(c) for c in ".aZ9"] == ["'.' (start/end)", "vowel", "consonant", "other"]


def test_tsne_keeps_clusters_apart_and_follows_its_seed():
    """sklearn's t-SNE (exact, PCA init): well-separated groups stay apart in the layout; a seed gives one layout."""
    from explorer import projections as P

    rng = np.random.default_rng(1)
    centres = rng.normal(scale=8.0, size=(3, 10))
    C = np.concatenate([c + rng.normal(size=(9, 10)) for c in centres])
    group = np.repeat(np.arange(3), 9)
    for perplexity in (3, 5, 8):
        xy = P.tsne(C, perplexity=perplexity, seed=0)
        assert xy.shape == (27, 2) and np.isfinite(xy).all()
        d = np.linalg.norm(xy[:, None] - xy[None], axis=2) + np.diag(np.full(27, np.inf))
        # (nearly) every point's nearest neighbour is in its own group; by chance 1 in 3 would be
        assert (group[d.argmin(1)] == group).sum() >= 26, perplexity
    assert P.tsne(C, 5, seed=0) == pytest.approx(P.tsne(C, 5, seed=0))  # deterministic for a seed


def test_figures_are_kept_by_content():
    from explorer import sampler_charts
    from explorer.session import figure

    itos = list(".abc")
    a = figure(sampler_charts.next_char_figure, np.array([0.1, 0.2, 0.3, 0.4]), itos, 2, title="x")
    assert figure(sampler_charts.next_char_figure, np.array([0.1, 0.2, 0.3, 0.4]), itos, 2, title="x") is a
    assert figure(sampler_charts.next_char_figure, np.array([0.1, 0.2, 0.4, 0.3]), itos, 2, title="x") is not a
    assert figure(sampler_charts.next_char_figure, np.array([0.1, 0.2, 0.3, 0.4]), itos, 2, title="y") is not a
    assert a.to_dict() == sampler_charts.next_char_figure(np.array([0.1, 0.2, 0.3, 0.4]), itos, 2, title="x").to_dict()


def test_presets_build_valid_configs_and_changes_are_listed():
    from explorer.settings import PRESET_LABELS, build_configs, default_values, pending_changes

    assert list(PRESET_LABELS) == ["Lecture (dev ≈ 2.17)", "Saturated tanh (broken on purpose)",
                                   "Init fixed (dev ≈ 2.10)", "Fast", "2-D embeddings", "Beyond the lecture (dev ≈ 1.95)"]
    lecture = default_values("Lecture (dev ≈ 2.17)")
    m, t = build_configs(lecture, 27)
    assert (m.n_params, t.steps, t.lr, t.lr2, t.decay_at, t.batch_size, t.threads) == (11_897, 200_000, 0.1, 0.01, 100_000, 32, 1)
    assert build_configs(default_values("2-D embeddings"), 27)[0].emb_dim == 2
    m2, t2 = build_configs({**lecture, "hidden": 300, "lr": 0.05}, 27)
    assert pending_changes(m2, t2, m, t) == ["hidden units: 200 → 300", "learning rate: 0.1 → 0.05"]
    assert pending_changes(m2, t2, m2, t2, "a.txt", "names.txt (default)") == ["data: names.txt (default) → a.txt"]
    with pytest.raises(MLPLMError):
        build_configs({**lecture, "optimizer": "lion"}, 27)
