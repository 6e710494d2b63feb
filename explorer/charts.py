"""Plotly figure builders: the loss curve, the learning-rate schedule, the LR sweep and the Data page's charts, plus
the look they share. They take plain data (NumPy arrays, lists, floats) and return a `go.Figure`; no Streamlit. The
sampler's figures are in sampler_charts.py, the embedding scatter in embedding_chart.py.

The live loss curve is the exception: `loss_spec` returns a plain figure dict, built twice a second while training
without go.Figure's validation (the app tests validate what the browser receives). Its arrays stay NumPy arrays,
sent as compact typed arrays, after the page downsamples them to a few hundred points per trace (series.py).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from . import series
from .projections import COLOURS, category

RAW_COLOUR = "rgba(79, 70, 229, 0.3)"
SMOOTH_COLOUR = "#4f46e5"
TRAIN_COLOUR = "#059669"
DEV_COLOUR = "#dc2626"
REF_COLOURS = ("#6b7280", "#d97706", "#0891b2")
CHOSEN_COLOUR = "#e4572e"
OTHER_COLOUR = "#94a3b8"
SUGGESTION_COLOURS = {"lowest loss": "#111827", "valley": "#dc2626", "steepest": "#059669", "minimum / 10": "#d97706"}


def _layout_dict(*, height: int = 420, **kw) -> dict:
    """The layout every chart shares: height, tight margins, the legend in a row on top, zoom kept across updates."""
    titled, legend = bool(kw.get("title")), kw.get("showlegend", True)
    top = 40 + (15 if titled else 0) + (25 if titled and legend else 0)  # room for the title above the legend
    return {**dict(height=height, margin=dict(l=10, r=10, t=top, b=10), uirevision="keep",
                   legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0)), **kw}


def base_layout(fig: go.Figure, *, height: int = 420, **kw) -> go.Figure:
    """Apply the shared layout (see _layout_dict); keyword arguments override it."""
    fig.update_layout(**_layout_dict(height=height, **kw))
    return fig


def layout(*, height: int = 420, **kw) -> dict:
    """The shared layout as a plain dict, for `go.Figure(data=traces, layout=...)`: validated once as the figure is
    made (~1 ms), where update_layout / update_xaxes on a built figure go through plotly's relayout path (~5–10 ms
    each). Give axes nested (xaxis=dict(title=dict(text=...))), not as magic underscores."""
    return _layout_dict(height=height, **kw)


def show_char(ch: str) -> str:
    """How a character is labelled on an axis ('.' stays '.', a space becomes '␣')."""
    return "␣" if ch == " " else ch


def plot_text(s: str) -> str:
    """User text (a name, a context, a character) for a Plotly label: shown literally, not as Plotly's HTML subset."""
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------------------------------------------ loss curve

REF_LABEL_PX = 17   # a reference line's label is this tall: labels closer than this are moved apart
LOSS_PLOT_PX = 340  # the loss chart's plot area is about this tall (440 px less the legend and the x axis)


def _ref_labels(refs: dict[str, float], f, lo: float, hi: float) -> tuple[list, list]:
    """Dashed lines across the plot and their labels in the right margin, outside the data (so no curve crosses a
    label), pushed apart vertically when two values are close."""
    shapes, notes, items = [], [], []
    for k, (label, value) in enumerate(refs.items()):
        if value is None or not math.isfinite(value):
            continue
        y, colour = float(f([value])[0]), REF_COLOURS[k % len(REF_COLOURS)]
        shapes.append(dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=y, y1=y,
                           line=dict(color=colour, dash="dash", width=1.5)))
        text = f"{label} {value:.3f}" if len(label) <= 8 else f"{label}<br>{value:.3f}"  # fits the margin
        items.append([y, text, colour])
    items.sort()
    px = LOSS_PLOT_PX / max(hi - lo, 1e-12)  # pixels per y unit
    last_y, last_h = -math.inf, 0.0
    for y, text, colour in items:
        h = REF_LABEL_PX * (1 + text.count("<br>"))
        at = max(y * px, last_y + (last_h + h) / 2)  # label centres far enough apart for both labels' heights
        shift, last_y, last_h = at - y * px, at, h
        notes.append(dict(xref="paper", x=1, xanchor="left", xshift=6, yref="y", y=y, yanchor="middle", yshift=shift,
                          text=text, showarrow=False, align="left", font=dict(color=colour, size=12)))
    return shapes, notes


def loss_spec(steps: np.ndarray, losses: np.ndarray, smoothed: np.ndarray, evals: Sequence[tuple[int, float, float]],
              refs: dict[str, float], *, log10: bool = True, smoothing: float = 0.0,
              x_range: tuple[float, float] | None = None, whole_y: bool = False) -> dict:
    """Per-step minibatch loss and its smoothed curve, train/dev evaluations as points, reference lines.

    A plain plotly figure dict, not a `go.Figure`: the Train page builds one twice a second while training, and
    go.Figure's property validation costs ~25 ms of the server's CPU each time (this dict: ~1 ms). The app tests
    pass the figure the browser receives through go.Figure, which validates it.
    log10: plot log10(loss) as the lecture does (`lossi.append(loss.log10().item())`); hover always shows the loss.
    smoothing 0: the raw loss is the curve (drawn bold); above 0 it is the faint background of the smoothed curve.
    whole_y: the linear view's y axis covers every loss; otherwise it fits the bulk of the curve (series.y_range), so
    the first steps (≈ 20 at the lecture's init) do not squash the rest, and a note says how high they went.
    """
    f = (lambda a: np.log10(np.maximum(np.asarray(a, dtype=np.float64), 1e-12))) if log10 else (lambda a: np.asarray(a, dtype=np.float64))
    data = []
    hover = "step %{x:,}<br>loss %{customdata:.4f}<extra>%{fullData.name}</extra>"
    if len(steps):
        x = np.asarray(steps, dtype=np.int64)  # NumPy arrays travel as compact typed arrays: cheap to build and parse
        raw_line = dict(color=RAW_COLOUR, width=1) if smoothing > 0 else dict(color=SMOOTH_COLOUR, width=1.5)
        data.append(dict(type="scatter", x=x, y=f(losses).astype(np.float32), customdata=np.asarray(losses, dtype=np.float32),
                         mode="lines", name="minibatch loss", line=raw_line, legendrank=1, hovertemplate=hover))
        if smoothing > 0:
            data.append(dict(type="scatter", x=x, y=f(smoothed).astype(np.float32),
                             customdata=np.asarray(smoothed, dtype=np.float32), mode="lines",
                             name=f"smoothed (EMA {smoothing:g})", line=dict(color=SMOOTH_COLOUR, width=2.5),
                             legendrank=2, hovertemplate=hover))
    if evals:
        es = [int(e[0]) for e in evals]
        # dev first, as a larger open diamond; train on top as a smaller filled circle: both show where they agree
        for name, idx, colour, marker, rank in (
                ("dev (eval)", 2, DEV_COLOUR, dict(symbol="diamond-open", size=12, line=dict(width=2)), 4),
                ("train (eval)", 1, TRAIN_COLOUR, dict(symbol="circle", size=7), 3)):
            vals = [float(e[idx]) for e in evals]
            data.append(dict(type="scatter", x=es, y=f(vals).tolist(), customdata=vals, mode="markers+lines", name=name,
                             marker=dict(color=colour, **marker), legendrank=rank,
                             line=dict(color=colour, width=1, dash="dot"), hovertemplate=hover))
    others = [v for e in evals for v in e[1:]] + [v for v in refs.values() if v is not None]
    lo, hi, clipped = series.y_range(losses, others, whole=whole_y or log10)
    if smoothing > 0 and len(smoothed):
        lo = min(lo, float(np.nanmin(smoothed)))
    flo, fhi = (float(v) for v in f([lo, hi]))
    pad = 0.04 * max(fhi - flo, 1e-6)
    shapes, notes = _ref_labels(refs, f, flo - pad, fhi + pad)
    if clipped is not None:
        notes.append(dict(xref="paper", x=1, xanchor="right", yref="paper", y=1, yanchor="top", showarrow=False,
                          text=f"↑ the first steps reach {clipped:.1f} (above the chart)", font=dict(size=12, color="#6b7280"),
                          bgcolor="rgba(255,255,255,0.85)"))
    xaxis = dict(title=dict(text="step"), **({"range": list(x_range)} if x_range else {}))
    layout = dict(_layout_dict(height=440, hovermode="x unified"), shapes=shapes, annotations=notes, xaxis=xaxis,
                  yaxis=dict(title=dict(text="log10(loss)" if log10 else "loss"), range=[flo - pad, fhi + pad]))
    layout["margin"] = {**layout["margin"], "r": 105}  # the reference labels live in the right margin
    return dict(data=data, layout=layout)


def empty_loss_spec(text: str) -> dict:
    """A loss chart with no curve and a message in its place: it replaces a previous run's curve (after Reset, or a
    model loaded from a file) instead of leaving it on screen."""
    hidden = dict(visible=False)
    return dict(data=[], layout=dict(height=140, margin=dict(l=10, r=10, t=10, b=10), xaxis=hidden, yaxis=hidden,
                                     annotations=[dict(xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                                                       text=plot_text(text), font=dict(size=15, color="#6b7280"))]))


def schedule_figure(steps: np.ndarray, lrs: np.ndarray, current_step: int | None = None) -> go.Figure:
    """The run's learning rate against the step (a linear axis, as schedules are usually drawn); its start, peak and
    end values written out in full (e.g. 4 × 10⁻⁸, not 4e-08)."""
    steps, lrs = np.asarray(steps), np.asarray(lrs, dtype=np.float64)
    fig = go.Figure(go.Scatter(x=steps, y=lrs, mode="lines", name="learning rate", line=dict(color=SMOOTH_COLOUR, width=2.5),
                               customdata=[series.fmt_lr(v) for v in lrs],
                               hovertemplate="step %{x:,}<br>lr %{customdata}<extra></extra>"))
    if current_step is not None:
        fig.add_vline(x=current_step, line=dict(color=DEV_COLOUR, dash="dot"))
    if len(lrs):
        marks = [(0, "start", "left"), (len(lrs) - 1, "end", "right")]
        peak = int(np.argmax(lrs))
        if 0 < peak < len(lrs) - 1 and lrs[peak] > 1.01 * max(lrs[0], lrs[-1]):
            marks.append((peak, "peak", "center"))
        for i, what, anchor in marks:
            fig.add_annotation(x=steps[i], y=lrs[i], text=f"{what} {series.fmt_lr(lrs[i])}", showarrow=False,
                               xanchor=anchor, yanchor="bottom", yshift=5, font=dict(size=14, color=SMOOTH_COLOUR),
                               bgcolor="rgba(255,255,255,0.85)")
        fig.update_yaxes(range=[0, float(lrs.max()) * 1.25 or 1.0])
    fig.update_xaxes(title_text="step", tickformat="~s", title_standoff=6)
    fig.update_yaxes(title_text="learning rate", nticks=5, exponentformat="power", title_standoff=10)
    return base_layout(fig, height=300, showlegend=False, margin=dict(l=10, r=20, t=20, b=10))


# --------------------------------------------------------------------------------------------------------- LR sweep

SWEEP_RULES = {  # one sentence each: what the rule means (shown on the LR sweep page)
    "lowest loss": "the lecture's own reading: the rate at the bottom of the smoothed curve (Karpathy reads 0.1 there).",
    "valley": "fastai's default: part-way down the longest falling stretch, a rate that still learns fast but is "
              "well clear of the bottom.",
    "steepest": "Lightning's: where the smoothed loss falls fastest per decade of learning rate.",
    "minimum / 10": "fastai's classic rule: a tenth of the lowest-loss rate, a safety margin below the bottom.",
}
SWEEP_ORDER = ("lowest loss", "valley", "minimum / 10", "steepest")
LABEL_PX = 7.5  # width of one character of a marker label, for keeping labels apart


def _label_rows(xs: Sequence[float], texts: Sequence[str], decades: float, width_px: float = 640) -> list[int]:
    """Greedy rows for labels centred at log10-positions `xs` so that no two in a row overlap (plot ~width_px wide)."""
    per_px = decades / width_px
    rows: list[list[tuple[float, float]]] = []
    out = [0] * len(xs)
    for k in sorted(range(len(xs)), key=lambda k: xs[k]):
        half = (LABEL_PX * len(texts[k]) + 12) * per_px / 2
        for r, row in enumerate(rows):
            if all(abs(xs[k] - x) >= half + h for x, h in row):
                row.append((xs[k], half))
                out[k] = r
                break
        else:
            rows.append([(xs[k], half)])
            out[k] = len(rows) - 1
    return out


def _suggestion_marks(fig: go.Figure, points: dict[str, tuple[float, float]], *, log_axis: bool, top: float,
                      decades: float) -> int:
    """Each suggestion: a marker on the curve, a dotted stem up to its label above the plot; labels on separate rows
    where they would overlap. log_axis: x is the rate on a log axis (else its exponent on a linear one).
    Returns the number of label rows."""
    names = [n for n in SWEEP_ORDER if n in points] + [n for n in points if n not in SWEEP_ORDER]
    exps = [math.log10(points[n][0]) for n in names]  # annotations on a log axis are placed by the exponent too
    texts = [f"{n}: {series.fmt_lr(points[n][0])}" + ("" if log_axis else f" (lre {e:.2f})") for n, e in zip(names, exps)]
    rows = _label_rows(exps, texts, decades)
    for n, text, e, row in zip(names, texts, exps, rows):
        lr, loss = points[n]
        x = lr if log_axis else e
        colour = SUGGESTION_COLOURS.get(n, "#111827")
        fig.add_trace(go.Scatter(x=[x, x], y=[loss, top], mode="lines", line=dict(color=colour, width=1, dash="dot"),
                                 hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=[x], y=[loss], mode="markers", name=text, showlegend=False,
                                 marker=dict(color=colour, size=14, symbol="x", line=dict(width=1, color="white")),
                                 hovertemplate=f"{n}<br>lr {series.fmt_lr(lr)}<br>loss %{{y:.3f}}<extra></extra>"))
        fig.add_annotation(x=e, y=1, xref="x", yref="paper", yanchor="bottom",
                           yshift=4 + 20 * row, text=text, showarrow=False, font=dict(color=colour, size=13),
                           bgcolor="rgba(255,255,255,0.9)")
    return max(rows, default=-1) + 1


def _sweep_layout(fig: go.Figure, rows: int, height: int) -> go.Figure:
    """The legend under the plot, the suggestion labels' rows above it."""
    fig.update_layout(height=height + 20 * rows, margin=dict(l=10, r=10, t=12 + 20 * rows, b=10), uirevision="keep",
                      legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0))
    return fig


def _sweep_y(fig: go.Figure, smoothed) -> float:
    """Keep the blow-up at the end from squashing the valley; returns the top of the y range."""
    finite = np.asarray(smoothed)[np.isfinite(smoothed)]
    if not len(finite):
        return 1.0
    lo, hi = float(np.min(finite)), float(np.max(finite[: max(len(finite) // 10, 1)]))
    pad = 0.1 * max(hi - lo, 0.1)
    top = max(hi, lo) + 3 * pad
    fig.update_yaxes(range=[lo - pad, top])
    return top


def sweep_figure(lrs, losses, smoothed, suggestions: dict[str, tuple[float, float]]) -> go.Figure:
    """fastai's lr_find plot: loss against the learning rate (log x), raw and smoothed, suggestions marked by name."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.asarray(lrs).tolist(), y=np.asarray(losses).tolist(), mode="lines", name="loss (raw)",
                             line=dict(color=RAW_COLOUR, width=1), hovertemplate="lr %{x:.4g}<br>loss %{y:.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=np.asarray(lrs).tolist(), y=np.asarray(smoothed).tolist(), mode="lines", name="loss (smoothed)",
                             line=dict(color=SMOOTH_COLOUR, width=2.5), hovertemplate="lr %{x:.4g}<br>smoothed %{y:.4f}<extra></extra>"))
    fig.update_xaxes(type="log", title_text="learning rate (log scale)")
    fig.update_yaxes(title_text="loss")
    top = _sweep_y(fig, smoothed)
    decades = float(np.log10(np.max(lrs) / np.min(lrs))) if len(lrs) else 1.0
    rows = _suggestion_marks(fig, suggestions, log_axis=True, top=top, decades=max(decades, 0.1))
    return _sweep_layout(fig, rows, 440)


def exponent_figure(log10_lrs, losses, smoothed, suggestions: dict[str, tuple[float, float]] | None = None) -> go.Figure:
    """The lecture's view: `plt.plot(lri, lossi)` with lri = the exponent of the learning rate; its own reading (the
    bottom of the smoothed curve) marked."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.asarray(log10_lrs).tolist(), y=np.asarray(losses).tolist(), mode="lines", name="loss",
                             line=dict(color=SMOOTH_COLOUR, width=1), hovertemplate="exponent %{x:.3f}<br>loss %{y:.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=np.asarray(log10_lrs).tolist(), y=np.asarray(smoothed).tolist(), mode="lines", name="smoothed",
                             line=dict(color=DEV_COLOUR, width=2.5), hovertemplate="exponent %{x:.3f}<br>smoothed %{y:.4f}<extra></extra>"))
    fig.update_xaxes(title_text="learning-rate exponent (lre: lr = 10**lre)")
    fig.update_yaxes(title_text="loss")
    top = _sweep_y(fig, smoothed)
    marks = {k: v for k, v in (suggestions or {}).items() if k == "lowest loss"}
    span = float(np.ptp(log10_lrs)) if len(log10_lrs) else 1.0
    rows = _suggestion_marks(fig, marks, log_axis=False, top=top, decades=max(span, 0.1))
    return _sweep_layout(fig, rows, 340)


# ------------------------------------------------------------------------------------------------------- embeddings

# ------------------------------------------------------------------------------------------------------------- data

def length_histogram(lengths: Sequence[int]) -> go.Figure:
    lengths = np.asarray(lengths, dtype=np.int64)
    counts = np.bincount(lengths) if len(lengths) else np.zeros(1, dtype=np.int64)
    xs = [int(i) for i in np.flatnonzero(counts)]
    fig = go.Figure(go.Bar(x=xs, y=[int(counts[i]) for i in xs], marker_color=SMOOTH_COLOUR,
                           hovertemplate="%{x} characters: %{y:,} names<extra></extra>"))
    fig.update_xaxes(title_text="name length (characters)", dtick=1 if len(xs) <= 30 else None)
    fig.update_yaxes(title_text="names")
    return base_layout(fig, height=300, showlegend=False)


def char_counts_figure(chars: Sequence[str], counts: Sequence[int]) -> go.Figure:
    colours = [COLOURS[category(c)] for c in chars]
    fig = go.Figure(go.Bar(x=[show_char(c) for c in chars], y=[int(n) for n in counts], marker_color=colours,
                           hovertemplate="'%{x}': %{y:,}<extra></extra>"))
    fig.update_xaxes(type="category", title_text="character ('.' = the start/end marker, one per name)")
    fig.update_yaxes(title_text="occurrences")
    return base_layout(fig, height=300, showlegend=False)
