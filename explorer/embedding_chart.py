"""The embedding scatter: each character of C at its (projected) position, labels kept legible where points crowd.

Plain data in, a Plotly figure dict out; no Streamlit. `embedding_view` chooses the axis ranges (everything, or the
crowded group) and where each label sits (projections.spread_labels); `embedding_figure` draws it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import projections
from .charts import layout, plot_text, show_char
from .projections import CATEGORIES, COLOURS, category

EMB_PLOT_PX = (540, 430)  # the embedding chart's plot area at 1280×720 (width, height), for spacing the labels
EMB_LABEL_PX = 26         # a label's circle


def embedding_view(xy: np.ndarray, *, zoom: bool = False, prev_labels: np.ndarray | None = None):
    """(view, labels, crowded) for the embedding chart: the axis ranges ((x0, x1), (y0, y1)), each character's label
    position (pushed apart where points pile up, see projections.spread_labels) and the crowded group's view (None
    when nothing crowds). zoom: show the crowded group instead of every point."""
    xy = np.asarray(xy, dtype=np.float64)
    lo, hi = xy.min(0), xy.max(0)
    span = np.maximum(hi - lo, 1e-6)

    def gap(s):  # data units per label: the axes share a scale, set by the tighter of width and height
        return EMB_LABEL_PX * max(s[0] / EMB_PLOT_PX[0], s[1] / EMB_PLOT_PX[1])

    d = gap(span * 1.15)
    crowded = projections.crowded_view(xy, d)
    if zoom and crowded is not None:
        view = crowded
    else:
        pad = 0.5 * d + 0.05 * span
        view = ((float(lo[0] - pad[0]), float(hi[0] + pad[0])), (float(lo[1] - pad[1]), float(hi[1] + pad[1])))
    d = gap(np.array([view[0][1] - view[0][0], view[1][1] - view[1][0]]))
    inside = ((xy[:, 0] >= view[0][0]) & (xy[:, 0] <= view[0][1]) & (xy[:, 1] >= view[1][0]) & (xy[:, 1] <= view[1][1]))
    labels = xy.copy()
    start = prev_labels[inside] if prev_labels is not None and np.shape(prev_labels) == xy.shape else None
    labels[inside] = projections.spread_labels(xy[inside], d, start=start)
    if inside.any():  # labels pushed outwards stay whole on the chart
        lo_l, hi_l = labels[inside].min(0) - 0.6 * d, labels[inside].max(0) + 0.6 * d
        view = ((float(min(view[0][0], lo_l[0])), float(max(view[0][1], hi_l[0]))),
                (float(min(view[1][0], lo_l[1])), float(max(view[1][1], hi_l[1]))))
    return view, labels, crowded


def embedding_figure(xy: np.ndarray, chars: Sequence[str], *, x_title: str, y_title: str, title: str = "",
                     highlight: int | None = None, neighbours: Sequence[int] = (), labels: np.ndarray | None = None,
                     view=None) -> dict:
    """Characters as labelled points, coloured vowel / consonant / '.' / other; one trace of labels per category.

    labels: where each character's label sits (default: on its point); a label moved off its point keeps a thin
    leader line to a small dot at the true position. view: ((x0, x1), (y0, y1)) axis ranges.
    A figure dict ({"data", "layout"}) for live_chart, not a go.Figure: validating one cost 10–40 ms a refresh.
    """
    xy = np.asarray(xy, dtype=np.float64)
    lab = xy if labels is None else np.asarray(labels, dtype=np.float64)
    traces = []
    cats = [category(c) for c in chars]
    moved = np.flatnonzero(np.hypot(*(lab - xy).T) > 1e-9 + 0.02 * float(np.ptp(xy, 0).max()))
    if len(moved):
        lx = [v for i in moved for v in (xy[i, 0], lab[i, 0], None)]
        ly = [v for i in moved for v in (xy[i, 1], lab[i, 1], None)]
        traces.append(dict(type="scatter", x=lx, y=ly, mode="lines", line=dict(color="#9ca3af", width=1),
                           hoverinfo="skip", showlegend=False))
        traces.append(dict(type="scatter", x=xy[moved, 0].tolist(), y=xy[moved, 1].tolist(), mode="markers",
                           hoverinfo="skip", marker=dict(size=6, color=[COLOURS[cats[i]] for i in moved]),
                           showlegend=False))
    for cat in CATEGORIES:
        idx = [i for i, c in enumerate(cats) if c == cat]
        if not idx:
            continue
        traces.append(dict(
            type="scatter", x=[float(lab[i, 0]) for i in idx], y=[float(lab[i, 1]) for i in idx],
            mode="markers+text", name=cat,
            text=[plot_text(show_char(chars[i])) for i in idx], textposition="middle center",
            customdata=[[float(xy[i, 0]), float(xy[i, 1])] for i in idx],
            textfont=dict(color="white", size=14), marker=dict(size=EMB_LABEL_PX, color=COLOURS[cat], line=dict(width=0)),
            hovertemplate="'%{text}'<br>(%{customdata[0]:.3f}, %{customdata[1]:.3f})<extra>" + cat + "</extra>"))
    if highlight is not None:
        ring = [highlight, *neighbours]
        traces.append(dict(
            type="scatter", x=[float(lab[i, 0]) for i in ring], y=[float(lab[i, 1]) for i in ring], mode="markers",
            name="chosen + neighbours",
            marker=dict(size=EMB_LABEL_PX + 10, color="rgba(0,0,0,0)",
                        line=dict(width=3, color=["#111827"] + ["#d97706"] * len(neighbours))),
            hoverinfo="skip"))
    xaxis = dict(title=dict(text=x_title), zeroline=False, **({"range": list(view[0])} if view else {}))
    yaxis = dict(title=dict(text=y_title), zeroline=False, scaleanchor="x", scaleratio=1,
                 **({"range": list(view[1])} if view else {}))
    return {"data": traces, "layout": layout(height=560, xaxis=xaxis, yaxis=yaxis, title=dict(
        text=title, x=0, xanchor="left", y=0.985, font=dict(size=15)) if title else None)}
