"""The Train page's activation-health panel through AppTest (issue 10 §2): it reads the trainer's measurements after
an evaluation (the summary line, the histogram, the dead-neuron image, the update-ratio curve), and each broken-on-
purpose preset shows its diagnostic doing its job — saturated tanh, the lecture's confidently wrong init — while the
fixed init reads as healthy. Before any run it measures the model Start would train, with the same core function.
"""
import numpy as np
import pytest

from app_helpers import click, finish, holder, live_figures, new_app, numbers, run, sidebar_params, small, texts
from explorer.health_panel import OPEN_KEY
from mlp_lm.data import DEFAULT_DATA, load_words, make_dataset
from mlp_lm.diagnostics import RATIO_PARAMS, fixed_batch, health

pytestmark = pytest.mark.usefixtures("warm_kernel", "released_sessions")
FIGURE = "activation health"


def summary(at) -> str:
    (line,) = [m.value for m in at.markdown if "Activation health at" in m.value]
    return line


def open_panel(at):
    at.session_state[OPEN_KEY] = True
    return run(at)


def preset(at, label):
    at.selectbox(key="preset").set_value(label)
    run(at)
    return click(at, "btn_reset")


def test_before_any_run_it_measures_the_fresh_init_and_stays_closed_until_asked():
    at = new_app()
    assert FIGURE not in live_figures(at)  # the expander runs nothing while closed
    ds = make_dataset(load_words(DEFAULT_DATA), 3)
    h = health(sidebar_params(at), *fixed_batch(ds.Xtr, ds.Ytr, at.session_state["seed"]), 0.1)
    assert f"at the start (before the first step): **{100 * h.saturated:.1f} %**" in summary(at)
    fig = live_figures(open_panel(at))[FIGURE]
    np.testing.assert_array_equal(numbers(fig["data"][0]["y"]), h.hist_counts)  # the histogram of h
    np.testing.assert_array_equal(numbers(fig["data"][1]["z"]).reshape(h.dead_image.shape), h.dead_image)


def test_after_evaluations_it_shows_what_the_trainer_measured():
    # evaluations far enough apart that health_due (≤ 5 % of the training time) measures at them, even on a busy machine
    at = finish(open_panel(small(new_app(), steps=40_000, eval_every=10_000)))
    snap = holder().snapshot()
    h, points = snap.health, snap.health_points
    # at init and at evaluations (diagnostics.health_due may skip some, to stay within 5 % of the training time)
    assert h.step > 0 and len(points) >= 2 and points[0].step == 0 and points[-1].step == h.step
    assert f"Activation health at step {h.step:,}: **{100 * h.saturated:.1f} %**" in summary(at)
    fig = live_figures(at)[FIGURE]
    ratios = {t["name"]: t for t in fig["data"] if t.get("name") in RATIO_PARAMS}
    assert set(ratios) == set(RATIO_PARAMS)
    for k, name in enumerate(RATIO_PARAMS):
        np.testing.assert_array_equal(numbers(ratios[name]["x"]), [p.step for p in points])
        np.testing.assert_allclose(numbers(ratios[name]["y"]), [p.update_ratios[k] for p in points])
    band = [s for s in fig["layout"]["shapes"] if s.get("yref") == "y3" and s["type"] == "rect"]
    assert band and band[0]["y0"] < -3 < band[0]["y1"]  # the lecture's guide band around -3
    assert "Measured by the trainer at each evaluation" in texts(at)


def test_saturated_preset_shows_its_saturation():
    at = open_panel(preset(new_app(), "Saturated tanh (broken on purpose)"))
    h = health(holder().snapshot().params, *fixed_batch(holder().run_dataset().Xtr, holder().run_dataset().Ytr,
                                                       holder().snapshot().train_config.seed), 0.1)
    assert h.saturated > 0.5
    assert f"**{100 * h.saturated:.1f} %** of tanh outputs saturated" in summary(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "**Saturated tanh:** most units are saturated" in warnings
    assert "confidently wrong" not in warnings  # its softmax is fixed: the initial loss is as expected
    assert any("as expected" in s.value for s in at.success)
    fig = live_figures(at)[FIGURE]
    assert f"<b>{100 * h.saturated:.1f} %</b> saturated" in fig["layout"]["annotations"][0]["text"]


def test_lecture_init_reads_confidently_wrong_and_the_fixed_init_reads_healthy():
    at = open_panel(preset(new_app(), "Lecture (dev ≈ 2.17)"))
    loss0 = float(summary(at).split("initial loss **")[1].split("**")[0])
    assert loss0 > 20  # the lecture's ~27
    assert any("confidently wrong at init" in w.value for w in at.warning)
    at = preset(at, "Init fixed (dev ≈ 2.10)")
    assert not any("confidently wrong" in w.value or "Saturated tanh" in w.value for w in at.warning)
    assert any("as expected" in s.value for s in at.success)
    assert abs(float(summary(at).split("initial loss **")[1].split("**")[0]) - np.log(27)) < 0.2
