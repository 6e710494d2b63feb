"""The figure builders and their layout helpers, without Streamlit: what makes the charts readable (issue 11 §3)."""
import math

import numpy as np
import plotly.graph_objects as go
import pytest

from explorer import charts, projections, sampler_charts, series
from explorer.embedding_chart import embedding_figure, embedding_view
from explorer.session import md_literal

ITOS = [".", *"abcdefghijklmnopqrstuvwxyz"]


def lecture_curve(n=600, seed=0):
    """A loss curve shaped like the lecture's: ≈ 27 at the init, ≈ 2.4 ± noise after a few dozen points."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n) * 100
    losses = 2.4 + 0.25 * rng.standard_normal(n) + 25 * np.exp(-np.arange(n) / 8)
    return steps, losses


# ------------------------------------------------------------------------------------------------------ loss chart

def test_the_linear_view_fits_the_bulk_and_says_how_high_the_start_went():
    steps, losses = lecture_curve()
    evals, refs = [(5_000, 2.5, 2.6)], {"bigram baseline": 2.45, "lecture": 2.17}
    spec = charts.loss_spec(steps, losses, losses, evals, refs, log10=False, smoothing=0.0)
    lo, hi = spec["layout"]["yaxis"]["range"]
    assert hi < 5 < losses.max(), "the first loss squashes the rest"
    assert lo <= 2.17 and hi >= 2.6, "the references and evaluations stay on the chart"
    assert any(f"reach {losses.max():.1f}" in a["text"] for a in spec["layout"]["annotations"])
    whole = charts.loss_spec(steps, losses, losses, evals, refs, log10=False, whole_y=True)
    assert whole["layout"]["yaxis"]["range"][1] >= losses.max()
    log = charts.loss_spec(steps, losses, losses, evals, refs, log10=True)
    assert log["layout"]["yaxis"]["range"][1] >= math.log10(losses.max())  # the lecture's view shows everything
    go.Figure(spec)


def test_a_start_only_a_little_higher_is_not_clipped():
    rng = np.random.default_rng(1)
    losses = np.concatenate([np.linspace(3.3, 2.5, 20), 2.4 + 0.1 * rng.standard_normal(400)])  # the fast preset
    lo, hi, clipped = series.y_range(losses)
    assert clipped is None and hi == pytest.approx(losses.max())
    assert series.y_range([])[2] is None and series.y_range([np.nan, 2.0])[:2] == (2.0, 2.0)


def test_smoothing_zero_draws_the_raw_loss_boldly_and_above_zero_faintly():
    steps, losses = lecture_curve(50)
    raw0 = charts.loss_spec(steps, losses, losses, [], {}, smoothing=0.0)["data"][0]
    assert raw0["line"]["color"] == charts.SMOOTH_COLOUR and raw0["line"]["width"] >= 1.5
    raw = charts.loss_spec(steps, losses, series.debiased_ema(losses, 0.9), [], {}, smoothing=0.9)["data"]
    assert raw[0]["line"]["color"] == charts.RAW_COLOUR and raw[1]["line"]["color"] == charts.SMOOTH_COLOUR


def test_train_markers_are_drawn_over_the_dev_diamonds():
    steps, losses = lecture_curve(50)
    data = charts.loss_spec(steps, losses, losses, [(1000, 2.3, 2.31)], {})["data"]
    names = [t["name"] for t in data]
    dev, train = data[names.index("dev (eval)")], data[names.index("train (eval)")]
    assert names.index("train (eval)") > names.index("dev (eval)"), "later traces are drawn on top"
    assert dev["marker"]["symbol"].endswith("-open") and dev["marker"]["size"] > train["marker"]["size"]
    assert train["legendrank"] < dev["legendrank"]


def test_reference_labels_sit_outside_the_plot_and_apart():
    steps, losses = lecture_curve()
    refs = {"bigram baseline": 2.45, "lecture": 2.40}  # close: their labels would overlap
    spec = charts.loss_spec(steps, losses, losses, [(5_000, 2.5, 2.6)], refs, log10=True)
    notes = [a for a in spec["layout"]["annotations"] if a.get("yref") == "y"]
    assert len(notes) == 2 and all(a["xref"] == "paper" and a["x"] == 1 and a["xanchor"] == "left" for a in notes)
    assert spec["layout"]["margin"]["r"] >= 100, "room for the labels in the right margin"
    lo, hi = spec["layout"]["yaxis"]["range"]
    px = charts.LOSS_PLOT_PX / (hi - lo)
    centres = sorted(a["y"] * px + a.get("yshift", 0) for a in notes)
    heights = [charts.REF_LABEL_PX * (1 + a["text"].count("<br>")) for a in notes]
    assert centres[1] - centres[0] >= sum(heights) / 2 - 1e-6
    assert notes[1]["text"].startswith("lecture 2.4") or notes[0]["text"].startswith("lecture 2.4")


def test_an_empty_run_gets_a_chart_without_a_curve():
    spec = charts.empty_loss_spec("Run 2: no steps yet <b>")
    assert spec["data"] == [] and "&lt;b&gt;" in spec["layout"]["annotations"][0]["text"]
    go.Figure(spec)


# ------------------------------------------------------------------------------------------- learning rates

@pytest.mark.parametrize("lr, text", [(0.1, "0.1"), (0.0316, "0.0316"), (0.00042, "0.00042"), (4e-08, "4 × 10⁻⁸"),
                                      (3.2e-7, "3.2 × 10⁻⁷"), (0.0, "0"), (10.0, "10")])
def test_learning_rates_read_as_numbers(lr, text):
    assert series.fmt_lr(lr) == text


def test_the_schedule_writes_its_start_peak_and_end():
    steps = np.arange(0, 4000, 10)
    x = steps / steps[-1]
    lrs = np.where(x < 0.3, 4e-4 + (1e-2 - 4e-4) * x / 0.3, 1e-2 * np.cos((x - 0.3) / 0.7 * np.pi / 2) ** 2 + 4e-8)
    fig = charts.schedule_figure(steps, lrs)
    texts = [a.text for a in fig.layout.annotations]
    assert texts[0] == "start 0.0004" and texts[1] == "end 4 × 10⁻⁸" and texts[2].startswith("peak 0.01")
    assert not any("e-0" in t for t in texts)
    assert fig.layout.height >= 300


# ------------------------------------------------------------------------------------------------------ LR sweep

def test_sweep_labels_never_overlap_and_the_lectures_reading_is_marked():
    lrs = 10 ** np.linspace(-3, 0, 500)
    x = np.log10(lrs)
    losses = 3 - np.tanh(2 * (x + 2)) + 3 * np.clip(x + 0.7, 0, None) ** 2
    close = {"lowest loss": (0.2, 2.0), "valley": (0.031, 2.5), "minimum / 10": (0.02, 2.6), "steepest": (0.011, 2.8)}
    fig = charts.sweep_figure(lrs, losses, losses, close)
    notes = list(fig.layout.annotations)
    assert {a.text.split(":")[0] for a in notes} == set(close)
    boxes = []
    per_px = 3 / 640
    for a in notes:
        half = (charts.LABEL_PX * len(a.text) + 12) * per_px / 2
        boxes.append((a.yshift, a.x - half, a.x + half))
    for i, (row, a0, a1) in enumerate(boxes):  # same row → no overlap in x
        for row2, b0, b1 in boxes[i + 1:]:
            assert row != row2 or a1 <= b0 or b1 <= a0
    assert fig.layout.margin.t >= 12 + 20 * len({b[0] for b in boxes}), "every label row fits above the plot"
    names = [t.name for t in fig.data if t.name]
    assert any(n.startswith("lowest loss:") for n in names)
    expo = charts.exponent_figure(np.log10(lrs), losses, losses, close)
    assert [a.text for a in expo.layout.annotations] == ["lowest loss: 0.2 (lre -0.70)"]
    assert set(charts.SWEEP_RULES) == set(close) and all(t.endswith(".") for t in charts.SWEEP_RULES.values())


# ---------------------------------------------------------------------------------------------------- embeddings

def heap(seed=0):
    """The 2-D preset's picture: most consonants in one small heap, a few points far away, two on top of each other."""
    rng = np.random.default_rng(seed)
    xy = np.concatenate([rng.normal(scale=0.08, size=(19, 2)) + [-0.5, -0.2], rng.uniform(-1.5, 2.5, size=(8, 2))])
    xy[5] = xy[6]
    return xy


def min_pair(p):
    d = np.sqrt(((p[:, None] - p[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    return d.min()


def test_crowded_labels_are_pushed_apart_and_lonely_ones_stay():
    xy = heap()
    d = 0.12
    labels = projections.spread_labels(xy, d)
    assert min_pair(labels) >= 0.99 * d, "labels still overlap"
    assert min_pair(xy) < 1e-9  # even the two coincident points got apart
    alone = [i for i in range(len(xy)) if np.sort(np.hypot(*(xy - xy[i]).T))[1] > 3 * d]
    assert alone and np.allclose(labels[alone], xy[alone], atol=0.05 * d), "a label with room moved"
    assert np.array_equal(labels, projections.spread_labels(xy, d)), "deterministic"
    again = projections.spread_labels(xy + 0.001, d, start=labels + 0.001)  # the next refresh: labels stay put
    assert np.abs(again - labels - 0.001).max() < 0.2 * d


def test_the_crowded_view_frames_the_heap_only():
    xy = heap()
    (x0, x1), (y0, y1) = projections.crowded_view(xy, 0.12)
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    assert inside[:19].all() and inside.sum() < len(xy)
    spread = np.stack(np.meshgrid(np.arange(5.0), np.arange(5.0)), -1).reshape(-1, 2)
    assert projections.crowded_view(spread, 0.5) is None


@pytest.mark.parametrize("zoom", [False, True])
def test_every_label_is_inside_the_chart(zoom):
    xy = heap()
    view, labels, crowded = embedding_view(xy, zoom=zoom)
    assert crowded is not None
    (x0, x1), (y0, y1) = view
    shown = np.ones(len(xy), bool) if not zoom else (
        (xy[:, 0] >= crowded[0][0]) & (xy[:, 0] <= crowded[0][1]) & (xy[:, 1] >= crowded[1][0]) & (xy[:, 1] <= crowded[1][1]))
    assert ((labels[shown, 0] >= x0) & (labels[shown, 0] <= x1) & (labels[shown, 1] >= y0) & (labels[shown, 1] <= y1)).all()
    fig = embedding_figure(xy, ITOS, x_title="x", y_title="y", title="t", labels=labels, view=view, highlight=1)
    fig = go.Figure(fig)  # a figure dict plotly itself accepts
    vowels = next(t for t in fig.data if t.name == "vowel")
    assert sorted(vowels.text) == list("aeiou")
    assert list(fig.layout.xaxis.range) == list(view[0])


def test_perplexity_ranges_for_tiny_vocabularies():
    assert projections.perplexity_range(27) == (2, 25)
    assert projections.perplexity_range(5) == (2, 3)
    for n in (2, 3, 4):
        assert projections.perplexity_range(n) == (2, 2)  # fixed: the page shows a note, not a slider


# ------------------------------------------------------------------------------------------------------- sampler

def test_the_bars_label_every_character_and_name_the_drawn_one():
    probs = np.random.default_rng(0).dirichlet(np.ones(27))
    fig = sampler_charts.next_char_figure(probs, ITOS, 3, title="Step 1 of 4: <b>")
    assert list(fig.layout.xaxis.tickvals) == ITOS == list(fig.layout.xaxis.ticktext)
    assert fig.layout.xaxis.tickfont.size >= 16, "readable on a projector"
    assert list(fig.data[0].marker.color).count(charts.CHOSEN_COLOUR) == 1 and fig.data[0].marker.color[3] == charts.CHOSEN_COLOUR
    assert fig.layout.annotations[0].text.startswith("drew 'c'")
    assert "&lt;b&gt;" in fig.layout.title.text and fig.layout.title.xanchor == "left"


def test_the_heatmap_marks_every_drawn_cell_and_writes_its_probability():
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(27) * 0.3, size=4)
    chosen = [5, 1, 13, 0]
    fig = sampler_charts.steps_heatmap(["...", "..e", ".em", "emm"], ["e", "m", "m", "."], probs, chosen, ITOS, selected=2)
    heat, marks = fig.data[0], fig.data[1]
    assert list(heat.x) == ITOS and list(fig.layout.xaxis.tickvals) == ITOS
    assert list(marks.x) == [ITOS[c] for c in chosen] and list(marks.y) == list(heat.y)
    for row, c in enumerate(chosen):
        assert heat.text[row][c] != "", "the drawn cell shows its probability"
    assert fig.layout.shapes[0].y0 == 1.5 and fig.layout.shapes[0].y1 == 2.5


def test_user_text_is_shown_literally():
    assert charts.plot_text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    assert md_literal("**b** $x$ :red[x]") == r"\*\*b\*\* \$x\$ \:red\[x\]"
    assert sampler_charts.step_label(0, "<b>", "<") == "1. '<b>' → <"  # escaped where it is drawn, not here
