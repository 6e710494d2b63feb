"""Figures of a hyperparameter search (plain rows in, `go.Figure` out; no Streamlit): dev loss against each searched
setting, and a parallel-coordinates chart of every trial (Weights & Biases' sweep views)."""
from __future__ import annotations

import math

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .charts import plot_text
from .settings import LABELS

DEV_COLOUR = "#dc2626"
BEST_COLOUR = "#4f46e5"
LOG_SETTINGS = ("lr", "lr2", "weight_decay")  # spread over decades: a log axis when every value is above 0
LISTED = 8  # up to this many distinct values of a setting are shown as labelled positions, not a continuous axis


def _scored(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r.get("dev_loss") is not None]


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " "))


def _is_number(vals) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)


def _log_axis(name: str, vals) -> bool:
    return name in LOG_SETTINGS and _is_number(vals) and min(vals) > 0 and max(vals) / min(vals) >= 10


def per_setting_figure(rows: list[dict], varied) -> go.Figure:
    """One small panel per searched setting: each trial's dev loss at its value (the best trial highlighted)."""
    scored, varied = _scored(rows), list(varied) or ["trial"]
    cols = min(len(varied), 4)
    nrows = math.ceil(len(varied) / cols)
    fig = make_subplots(rows=nrows, cols=cols, shared_yaxes=True, horizontal_spacing=0.04, vertical_spacing=0.22,
                        subplot_titles=[_label(v) for v in varied])
    best = min(scored, key=lambda r: r["dev_loss"]) if scored else None
    for i, name in enumerate(varied):
        row, col = i // cols + 1, i % cols + 1
        xs = [r[name] for r in scored]
        numeric = _is_number(xs)
        fig.add_trace(go.Scatter(
            x=xs, y=[r["dev_loss"] for r in scored], mode="markers",
            marker=dict(size=10, color=[BEST_COLOUR if r is best else DEV_COLOUR for r in scored], opacity=0.8),
            customdata=[r["trial"] for r in scored], name=_label(name), showlegend=False,
            hovertemplate=f"{_label(name)} %{{x}}<br>dev loss %{{y:.4f}}<br>trial %{{customdata}}<extra></extra>"),
            row=row, col=col)
        distinct = sorted(set(xs)) if numeric else sorted({str(x) for x in xs})
        if numeric and _log_axis(name, xs) and len(distinct) > LISTED:
            fig.update_xaxes(type="log", row=row, col=col)
        elif not numeric or len(distinct) <= LISTED:  # listed values: evenly spaced, in order, none at an edge
            fig.update_xaxes(type="category", categoryorder="array", categoryarray=[str(x) for x in distinct],
                             range=[-0.5, len(distinct) - 0.5], row=row, col=col)
            fig.data[-1].x = [str(x) for x in xs]
        if col == 1:
            fig.update_yaxes(title_text="dev loss", row=row, col=col)
    fig.update_layout(height=260 * nrows + 40, margin=dict(l=10, r=10, t=50, b=10), showlegend=False,
                      uirevision="keep")
    fig.update_annotations(font_size=13)
    return fig


def parallel_figure(rows: list[dict], varied) -> go.Figure:
    """Parallel coordinates: one axis per searched setting and a last one for dev loss, each line a trial coloured
    by its dev loss (lowest brightest). Choices become labelled positions; rates spread over decades use log10."""
    scored = _scored(rows)
    dims = []
    for name in varied:
        vals = [r[name] for r in scored]
        if _is_number(vals) and vals:
            if _log_axis(name, vals):
                dims.append(_axis(f"log10 {_label(name)}", [math.log10(v) for v in vals]))
            elif len(set(vals)) <= LISTED:  # ticks exactly at the listed values
                lo, hi = min(vals), max(vals)
                dims.append(dict(label=_label(name), values=vals, tickvals=sorted(set(vals)),
                                 range=[lo, hi] if lo < hi else [lo - 1, hi + 1]))
            else:
                dims.append(_axis(_label(name), vals))
        else:
            cats = sorted({str(v) for v in vals})
            dims.append(dict(label=_label(name), values=[cats.index(str(v)) for v in vals],
                             tickvals=list(range(len(cats))), ticktext=[plot_text(c) for c in cats]))
    dev = [r["dev_loss"] for r in scored]
    dims.append(_axis("dev loss", dev, ".3f"))
    fig = go.Figure(go.Parcoords(
        dimensions=dims,
        line=dict(color=dev, colorscale="Viridis", reversescale=True, showscale=True,
                  colorbar=dict(title=dict(text="dev loss"), thickness=14)),
        labelangle=0, labelside="top"))
    fig.update_layout(height=380, margin=dict(l=70, r=40, t=70, b=30), uirevision="keep")
    return fig


def _axis(label: str, vals, tickformat: str | None = None) -> dict:
    """A numeric parcoords axis whose range ends on round ticks, so the end labels never overlap a tick's."""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or abs(hi) or 1.0
    step = next(s * 10.0 ** e for e in range(math.floor(math.log10(span)) - 1, math.floor(math.log10(span)) + 2)
                for s in (1, 2, 5) if span / (s * 10.0 ** e) <= 5)
    a, b = math.floor(lo / step) * step, math.ceil(hi / step) * step
    if a == b:
        a, b = a - step, b + step
    ticks = [round(a + i * step, 12) for i in range(int(round((b - a) / step)) + 1)]
    d = dict(label=label, values=vals, range=[a, b], tickvals=ticks)
    if tickformat:
        d["tickformat"] = tickformat
    return d
