"""Plotly figure builders. They take plain data (NumPy arrays, lists, floats) and return a `go.Figure`; no Streamlit.

The live loss curve is the exception: `loss_spec` returns a plain figure dict, built twice a second while training
without go.Figure's validation (the app tests validate what the browser receives). Its arrays stay NumPy arrays,
sent as compact typed arrays, after the page downsamples them to a few hundred points per trace (series.py).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .projections import CATEGORIES, COLOURS, category

RAW_COLOUR = "rgba(79, 70, 229, 0.25)"
SMOOTH_COLOUR = "#4f46e5"
TRAIN_COLOUR = "#059669"
DEV_COLOUR = "#dc2626"
REF_COLOURS = ("#6b7280", "#d97706", "#0891b2")
CHOSEN_COLOUR = "#e4572e"
OTHER_COLOUR = "#94a3b8"
SUGGESTION_COLOURS = {"valley": "#dc2626", "steepest": "#059669", "minimum / 10": "#d97706"}


def _layout_dict(*, height: int = 420, **kw) -> dict:
    """The layout every chart shares: height, tight margins, the legend in a row on top, zoom kept across updates."""
    titled, legend = bool(kw.get("title")), kw.get("showlegend", True)
    top = 40 + (15 if titled else 0) + (25 if titled and legend else 0)  # room for the title above the legend
    return dict(height=height, margin=dict(l=10, r=10, t=top, b=10), uirevision="keep",
                legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0), **kw)


def _layout(fig: go.Figure, *, height: int = 420, **kw) -> go.Figure:
    fig.update_layout(**_layout_dict(height=height, **kw))
    return fig


def show_char(ch: str) -> str:
    """How a character is labelled on an axis ('.' stays '.', a space becomes '␣')."""
    return "␣" if ch == " " else ch


# ------------------------------------------------------------------------------------------------------ loss curve

def loss_spec(steps: np.ndarray, losses: np.ndarray, smoothed: np.ndarray, evals: Sequence[tuple[int, float, float]],
              refs: dict[str, float], *, log10: bool = True, smoothing: float = 0.0,
              x_range: tuple[float, float] | None = None) -> dict:
    """Per-step minibatch loss (raw, faint) and its smoothed curve, train/dev evaluations as points, reference lines.

    A plain plotly figure dict, not a `go.Figure`: the Train page builds one twice a second while training, and
    go.Figure's property validation costs ~25 ms of the server's CPU each time (this dict: ~1 ms). The app tests
    pass the figure the browser receives through go.Figure, which validates it.
    log10: plot log10(loss) as the lecture does (`lossi.append(loss.log10().item())`); hover always shows the loss.
    """
    f = (lambda a: np.log10(np.maximum(np.asarray(a, dtype=np.float64), 1e-12))) if log10 else (lambda a: np.asarray(a, dtype=np.float64))
    data = []
    hover = "step %{x:,}<br>loss %{customdata:.4f}<extra>%{fullData.name}</extra>"
    if len(steps):
        x = np.asarray(steps, dtype=np.int64)  # NumPy arrays travel as compact typed arrays: cheap to build and parse
        data.append(dict(type="scatter", x=x, y=f(losses).astype(np.float32), customdata=np.asarray(losses, dtype=np.float32),
                         mode="lines", name="minibatch loss", line=dict(color=RAW_COLOUR, width=1), hovertemplate=hover))
        if smoothing > 0:
            data.append(dict(type="scatter", x=x, y=f(smoothed).astype(np.float32),
                             customdata=np.asarray(smoothed, dtype=np.float32), mode="lines",
                             name=f"smoothed (EMA {smoothing:g})", line=dict(color=SMOOTH_COLOUR, width=2),
                             hovertemplate=hover))
    if evals:
        es = [int(e[0]) for e in evals]
        for name, idx, colour, symbol in (("train (eval)", 1, TRAIN_COLOUR, "circle"), ("dev (eval)", 2, DEV_COLOUR, "diamond")):
            vals = [float(e[idx]) for e in evals]
            data.append(dict(type="scatter", x=es, y=f(vals).tolist(), customdata=vals, mode="markers+lines", name=name,
                             marker=dict(color=colour, size=8, symbol=symbol),
                             line=dict(color=colour, width=1, dash="dot"), hovertemplate=hover))
    shapes, notes = [], []
    for k, (label, value) in enumerate(refs.items()):
        if value is None or not math.isfinite(value):
            continue
        y, colour = float(f([value])[0]), REF_COLOURS[k % len(REF_COLOURS)]
        shapes.append(dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=y, y1=y,
                           line=dict(color=colour, dash="dash", width=1.5)))
        notes.append(dict(xref="x domain", x=0 if k % 2 else 1, xanchor="left" if k % 2 else "right", yref="y", y=y,
                          yanchor="bottom", text=f"{label} {value:.3f}", showarrow=False,
                          font=dict(color=colour), bgcolor="rgba(255,255,255,0.8)"))
    xaxis = dict(title=dict(text="step"), **({"range": list(x_range)} if x_range else {}))
    layout = dict(_layout_dict(height=440, hovermode="x unified"), shapes=shapes, annotations=notes, xaxis=xaxis,
                  yaxis=dict(title=dict(text="log10(loss)" if log10 else "loss")))
    return dict(data=data, layout=layout)


def schedule_figure(steps: np.ndarray, lrs: np.ndarray, current_step: int | None = None) -> go.Figure:
    fig = go.Figure(go.Scatter(x=steps, y=lrs, mode="lines", name="learning rate", line=dict(color=SMOOTH_COLOUR),
                               hovertemplate="step %{x:,}<br>lr %{y:.4g}<extra></extra>"))
    if current_step is not None:
        fig.add_vline(x=current_step, line=dict(color=DEV_COLOUR, dash="dot"))
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="learning rate", type="log" if np.all(np.asarray(lrs) > 0) else None)
    return _layout(fig, height=220, showlegend=False)


# --------------------------------------------------------------------------------------------------------- LR sweep

def sweep_figure(lrs, losses, smoothed, suggestions: dict[str, tuple[float, float]]) -> go.Figure:
    """fastai's lr_find plot: loss against the learning rate (log x), raw and smoothed, suggestions marked by name."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.asarray(lrs).tolist(), y=np.asarray(losses).tolist(), mode="lines", name="loss (raw)",
                             line=dict(color=RAW_COLOUR, width=1), hovertemplate="lr %{x:.4g}<br>loss %{y:.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=np.asarray(lrs).tolist(), y=np.asarray(smoothed).tolist(), mode="lines", name="loss (smoothed)",
                             line=dict(color=SMOOTH_COLOUR, width=2), hovertemplate="lr %{x:.4g}<br>smoothed %{y:.4f}<extra></extra>"))
    for name, (lr, loss) in suggestions.items():
        colour = SUGGESTION_COLOURS.get(name, "#111827")
        fig.add_trace(go.Scatter(x=[lr], y=[loss], mode="markers+text", name=f"{name}: {lr:.3g}", text=[f"{name}<br>{lr:.3g}"],
                                 textposition="top center", marker=dict(color=colour, size=13, symbol="x"),
                                 hovertemplate=f"{name}<br>lr %{{x:.4g}}<br>loss %{{y:.4f}}<extra></extra>"))
    fig.update_xaxes(type="log", title_text="learning rate (log scale)")
    fig.update_yaxes(title_text="loss")
    finite = np.asarray(smoothed)[np.isfinite(smoothed)]
    if len(finite):  # keep the blow-up at the end from squashing the valley
        lo, hi = float(np.min(finite)), float(np.max(finite[: max(len(finite) // 10, 1)]))
        pad = 0.1 * max(hi - lo, 0.1)
        fig.update_yaxes(range=[lo - pad, max(hi, lo) + 3 * pad])
    return _layout(fig, title=dict(text="Loss vs learning rate", x=0.5, y=0.97))


def exponent_figure(log10_lrs, losses, smoothed) -> go.Figure:
    """The lecture's view: `plt.plot(lri, lossi)` with lri = the exponent of the learning rate."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.asarray(log10_lrs).tolist(), y=np.asarray(losses).tolist(), mode="lines", name="loss",
                             line=dict(color=SMOOTH_COLOUR, width=1), hovertemplate="exponent %{x:.3f}<br>loss %{y:.4f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=np.asarray(log10_lrs).tolist(), y=np.asarray(smoothed).tolist(), mode="lines", name="smoothed",
                             line=dict(color=DEV_COLOUR, width=2), hovertemplate="exponent %{x:.3f}<br>smoothed %{y:.4f}<extra></extra>"))
    fig.update_xaxes(title_text="learning-rate exponent (lre: lr = 10**lre)")
    fig.update_yaxes(title_text="loss")
    return _layout(fig, height=340, title=dict(text="The lecture's plot: loss vs exponent", x=0.5, y=0.97))


# ------------------------------------------------------------------------------------------------------- embeddings

def embedding_figure(xy: np.ndarray, chars: Sequence[str], *, x_title: str, y_title: str, title: str = "",
                     highlight: int | None = None, neighbours: Sequence[int] = ()) -> go.Figure:
    """Characters as labelled points, coloured vowel / consonant / '.' / other; one trace per category."""
    fig = go.Figure()
    cats = [category(c) for c in chars]
    for cat in CATEGORIES:
        idx = [i for i, c in enumerate(cats) if c == cat]
        if not idx:
            continue
        fig.add_trace(go.Scatter(
            x=[float(xy[i, 0]) for i in idx], y=[float(xy[i, 1]) for i in idx], mode="markers+text", name=cat,
            text=[show_char(chars[i]) for i in idx], textposition="middle center",
            textfont=dict(color="white", size=13), marker=dict(size=26, color=COLOURS[cat], line=dict(width=0)),
            hovertemplate="'%{text}'<br>(%{x:.3f}, %{y:.3f})<extra>" + cat + "</extra>"))
    if highlight is not None:
        ring = [highlight, *neighbours]
        fig.add_trace(go.Scatter(
            x=[float(xy[i, 0]) for i in ring], y=[float(xy[i, 1]) for i in ring], mode="markers", name="chosen + neighbours",
            marker=dict(size=36, color="rgba(0,0,0,0)", line=dict(width=3, color=["#111827"] + ["#d97706"] * len(neighbours))),
            hoverinfo="skip"))
    fig.update_xaxes(title_text=x_title, zeroline=False)
    fig.update_yaxes(title_text=y_title, zeroline=False, scaleanchor="x", scaleratio=1)
    return _layout(fig, height=560, title=dict(text=title, x=0.5, y=0.98) if title else None)


# -------------------------------------------------------------------------------------------------------- sampling

def next_char_figure(probs, itos: Sequence[str], chosen: int | None, *, title: str = "", height: int = 300) -> go.Figure:
    """The next-character distribution as bars, the character drawn highlighted."""
    probs = [float(p) for p in np.asarray(probs, dtype=np.float64)]
    labels = [show_char(c) for c in itos]
    colours = [CHOSEN_COLOUR if i == chosen else OTHER_COLOUR for i in range(len(probs))]
    fig = go.Figure(go.Bar(x=labels, y=probs, marker_color=colours, name="P(next char)",
                           text=[f"{p:.2f}" if p >= 0.05 else "" for p in probs], textposition="outside",
                           hovertemplate="'%{x}'  p = %{y:.4f}<extra></extra>"))
    fig.update_xaxes(type="category", title_text="next character")
    fig.update_yaxes(title_text="probability", range=[0, min(1.05, max(probs, default=1) * 1.2 + 0.02)])
    return _layout(fig, height=height, showlegend=False, title=dict(text=title, x=0.5, y=0.95) if title else None)


def steps_heatmap(contexts: Sequence[str], chars: Sequence[str], probs: np.ndarray, chosen: Sequence[int],
                  itos: Sequence[str]) -> go.Figure:
    """All steps of one sample: rows = steps ("context → char"), columns = characters, colour = probability."""
    rows = [f"{i + 1}. {ctx} → {show_char(ch)}" for i, (ctx, ch) in enumerate(zip(contexts, chars))]
    cols = [show_char(c) for c in itos]
    z = np.asarray(probs, dtype=np.float64)
    fig = go.Figure(go.Heatmap(z=z.tolist(), x=cols, y=rows, colorscale="Blues", zmin=0, zmax=1,
                               hovertemplate="%{y}<br>'%{x}'  p = %{z:.4f}<extra></extra>", colorbar=dict(title="p")))
    fig.add_trace(go.Scatter(x=[cols[c] for c in chosen], y=rows, mode="markers", name="drawn",
                             marker=dict(symbol="square-open", size=16, color=CHOSEN_COLOUR, line=dict(width=2)),
                             hoverinfo="skip"))
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", side="top")
    return _layout(fig, height=140 + 28 * len(rows), showlegend=False)


def score_figure(chars: Sequence[str], contexts: Sequence[str], probs, vocab_size: int) -> go.Figure:
    """P(each character | its context) for a typed name, with the uniform 1/V guess for comparison."""
    probs = [float(p) for p in np.asarray(probs, dtype=np.float64)]
    x = [f"{i + 1}. {ctx} → {show_char(ch)}" for i, (ctx, ch) in enumerate(zip(contexts, chars))]
    fig = go.Figure(go.Bar(x=x, y=probs, marker_color=SMOOTH_COLOUR, text=[f"{p:.3f}" for p in probs],
                           textposition="outside", hovertemplate="%{x}<br>p = %{y:.4f}<extra></extra>"))
    fig.add_hline(y=1.0 / vocab_size, line=dict(color=OTHER_COLOUR, dash="dash"),
                  annotation_text=f"uniform 1/{vocab_size}", annotation_position="top right")
    fig.update_xaxes(type="category", title_text="context → character")
    fig.update_yaxes(title_text="probability", range=[0, 1.1])
    return _layout(fig, height=340, showlegend=False)


# ------------------------------------------------------------------------------------------------------------- data

def length_histogram(lengths: Sequence[int]) -> go.Figure:
    lengths = np.asarray(lengths, dtype=np.int64)
    counts = np.bincount(lengths) if len(lengths) else np.zeros(1, dtype=np.int64)
    xs = [int(i) for i in np.flatnonzero(counts)]
    fig = go.Figure(go.Bar(x=xs, y=[int(counts[i]) for i in xs], marker_color=SMOOTH_COLOUR,
                           hovertemplate="%{x} characters: %{y:,} names<extra></extra>"))
    fig.update_xaxes(title_text="name length (characters)", dtick=1 if len(xs) <= 30 else None)
    fig.update_yaxes(title_text="names")
    return _layout(fig, height=300, showlegend=False)


def char_counts_figure(chars: Sequence[str], counts: Sequence[int]) -> go.Figure:
    colours = [COLOURS[category(c)] for c in chars]
    fig = go.Figure(go.Bar(x=[show_char(c) for c in chars], y=[int(n) for n in counts], marker_color=colours,
                           hovertemplate="'%{x}': %{y:,}<extra></extra>"))
    fig.update_xaxes(type="category", title_text="character ('.' = the start/end marker, one per name)")
    fig.update_yaxes(title_text="occurrences")
    return _layout(fig, height=300, showlegend=False)
