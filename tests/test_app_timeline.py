"""The Embeddings page's timeline through AppTest (issue 10 §3): after a run, one plotly animation with a frame per
kept step (bounded), a slider step per frame and a play button; raw dimensions are C's own columns, PCA puts every
frame in the final table's basis; nothing before a run; the frame picking is bounded for any timeline length.
"""
import numpy as np
import plotly.graph_objects as go
import pytest

from app_helpers import click, finish, holder, new_app, numbers, plotly_figures, poll, run, small
from explorer.timeline_charts import MAX_FRAMES, pick, timeline_spec
from mlp_lm.timeline import project

pytestmark = pytest.mark.usefixtures("warm_kernel", "released_sessions")
PAGE = "app_pages/embeddings.py"


def timeline(at) -> dict:
    (fig,) = [f for f in plotly_figures(at) if f.get("frames")]
    go.Figure(fig)  # valid for plotly.js
    return fig


def open_timeline(at):
    at.session_state["tl_open"] = True
    return run(at)


def true_positions(frame: dict) -> np.ndarray:
    """The frame's second trace: each character's true (x, y), in vocabulary order."""
    t = frame["data"][1]
    return np.stack([numbers(t["x"]), numbers(t["y"])], axis=1)


def test_no_timeline_before_a_run():
    at = open_timeline(new_app(PAGE))
    assert not [f for f in plotly_figures(at) if f.get("frames")]


def test_a_2d_run_plays_its_raw_embeddings_frame_by_frame():
    at = new_app(PAGE)
    at.selectbox(key="preset").set_value("2-D embeddings")
    at = finish(small(at, steps=20_000, hidden=100))
    fig = timeline(open_timeline(run(at)))
    steps, tables = holder().snapshot().timeline
    frames = fig["frames"]
    assert 2 <= len(frames) == min(len(steps), MAX_FRAMES)
    kept = np.asarray(steps)[pick(len(steps))]
    assert [f["name"] for f in frames] == [str(s) for s in kept]
    assert frames[-1]["name"] == str(holder().snapshot().step)  # ends on the final table
    (slider,) = fig["layout"]["sliders"]
    assert [s["args"][0] for s in slider["steps"]] == [[f["name"]] for f in frames]
    buttons = fig["layout"]["updatemenus"][0]["buttons"]
    assert buttons[0]["method"] == "animate" and "Play" in buttons[0]["label"]
    assert all(len(f["data"]) == len(fig["data"]) for f in frames)  # same traces in every frame: points move
    final = holder().snapshot().params["C"].numpy()
    np.testing.assert_allclose(true_positions(frames[-1]), final[:, :2], atol=1e-4)
    np.testing.assert_allclose(true_positions(frames[0]), tables[0][:, :2], atol=1e-4)


def test_pca_frames_share_the_final_tables_axes():
    at = finish(small(new_app(PAGE), steps=5_000))
    at.session_state["emb_view"] = "PCA"
    fig = timeline(open_timeline(run(at)))
    steps, tables = holder().snapshot().timeline
    xy, _ = project(np.asarray(tables)[pick(len(steps))])
    for k in (0, len(xy) // 2, len(xy) - 1):
        np.testing.assert_allclose(true_positions(fig["frames"][k]), xy[k], atol=1e-4)
    assert "PC1" in fig["layout"]["xaxis"]["title"]["text"]


def test_while_training_the_timeline_is_kept_until_asked_for_the_newest_frames():
    at = small(new_app(PAGE), steps=3_000_000)
    click(at, "btn_start")
    assert poll(at, lambda: len(holder().snapshot().timeline[0]) >= 3)
    last = timeline(open_timeline(at))["frames"][-1]["name"]
    assert poll(at, lambda: holder().snapshot().timeline[0][-1] > int(last) + 1_000)
    assert timeline(run(at))["frames"][-1]["name"] == last  # other reruns do not rebuild the animation
    newest = timeline(click(at, "tl_refresh"))["frames"][-1]["name"]
    assert int(newest) > int(last) + 1_000
    click(at, "btn_stop")


def test_frames_are_bounded_for_any_timeline_length():
    for n in (1, 2, 7, MAX_FRAMES, MAX_FRAMES + 1, 161, 1_000, 1_000_000):
        idx = pick(n)
        assert len(idx) == min(n, MAX_FRAMES) and idx[0] == 0 and idx[-1] == n - 1 and np.all(np.diff(idx) > 0)
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(1_000, 27, 2))
    idx = pick(len(xy))
    spec = timeline_spec(idx * 10, xy[idx], list(".abcdefghijklmnopqrstuvwxyz"), x_title="x", y_title="y")
    assert len(spec["frames"]) == len(spec["layout"]["sliders"][0]["steps"]) == MAX_FRAMES
