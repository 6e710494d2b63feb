"""The embedding timeline as one plotly animation: the scatter of C's rows at each kept step of a run, with a step
slider and Play / Pause inside the figure, so the browser plays it without a rerun.

Every frame has the same traces (leader lines, the true positions, one trace of labelled circles per category:
vowel / consonant / '.'), so plotly moves the points between frames instead of redrawing them. The axes are fixed
over the whole animation and the labels are placed per frame like the live scatter's (projections.spread_labels,
each frame starting from the previous frame's labels moved with their points), so they stay legible where points
crowd and drift smoothly. Plain data in, a figure dict out; no Streamlit.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import projections
from .charts import plot_text, show_char
from .embedding_chart import EMB_LABEL_PX, EMB_PLOT_PX
from .projections import CATEGORIES, COLOURS, category

MAX_FRAMES = 120     # frames sent to the browser (evenly picked from the timeline, first and last always kept)
FRAME_MS = 120       # Play: time per frame
HEIGHT = 640


def pick(n: int, most: int = MAX_FRAMES) -> np.ndarray:
    """Indices of at most `most` frames out of n, evenly spread, the first and the last included."""
    if n <= most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, most).round().astype(np.int64))


def _view(xy: np.ndarray) -> tuple[tuple[float, float], tuple[float, float], float]:
    """Axis ranges that hold every frame's points, and the label spacing d (data units) those ranges give."""
    lo, hi = xy.reshape(-1, 2).min(0), xy.reshape(-1, 2).max(0)
    span = np.maximum(hi - lo, 1e-6)
    d = EMB_LABEL_PX * max(span[0] * 1.15 / EMB_PLOT_PX[0], span[1] * 1.15 / EMB_PLOT_PX[1])
    pad = 0.5 * d + 0.05 * span
    return (float(lo[0] - pad[0]), float(hi[0] + pad[0])), (float(lo[1] - pad[1]), float(hi[1] + pad[1])), d


def label_positions(xy: np.ndarray, d: float) -> np.ndarray:
    """(n, V, 2) label positions: each frame's labels pushed apart, starting from the previous frame's."""
    out = np.empty_like(xy)
    prev = None
    for f in range(len(xy)):
        start = None if prev is None else prev + (xy[f] - xy[f - 1])
        prev = out[f] = projections.spread_labels(xy[f], d, start=start)
    return out


def _xy(xy: np.ndarray, lab: np.ndarray, cats: list[str]) -> list[dict]:
    """What changes between frames: x and y of each trace (leader lines, true positions, labels per category),
    rounded to 4 decimals so the frames stay small; everything else comes from the first frame's traces."""
    r = lambda a: np.round(np.asarray(a, dtype=np.float64), 4).tolist()  # noqa: E731
    seg = np.stack([xy, lab, np.full_like(xy, np.nan)], axis=1).reshape(-1, 2)  # point, label, gap for each character
    out = [dict(x=[None if np.isnan(v) else v for v in r(seg[:, 0])], y=[None if np.isnan(v) else v for v in r(seg[:, 1])]),
           dict(x=r(xy[:, 0]), y=r(xy[:, 1]))]
    for cat in CATEGORIES:
        idx = [i for i, c in enumerate(cats) if c == cat]
        if idx:
            out.append(dict(x=r(lab[idx, 0]), y=r(lab[idx, 1])))
    return out


def _traces(xy: np.ndarray, lab: np.ndarray, chars: Sequence[str], cats: list[str]) -> list[dict]:
    """The first frame's full traces: leader lines, true positions, then the labelled circles of each category."""
    moving = _xy(xy, lab, cats)
    traces = [dict(type="scatter", mode="lines", line=dict(color="#9ca3af", width=1), hoverinfo="skip",
                   showlegend=False, **moving[0]),
              dict(type="scatter", mode="markers", hoverinfo="skip", marker=dict(size=6, color=[COLOURS[c] for c in cats]),
                   showlegend=False, **moving[1])]
    k = 2
    for cat in CATEGORIES:
        idx = [i for i, c in enumerate(cats) if c == cat]
        if not idx:
            continue
        traces.append(dict(
            type="scatter", name=cat, mode="markers+text", text=[plot_text(show_char(chars[i])) for i in idx],
            textposition="middle center", textfont=dict(color="white", size=14),
            marker=dict(size=EMB_LABEL_PX, color=COLOURS[cat], line=dict(width=0)),
            hovertemplate="'%{text}'<extra>" + cat + "</extra>", **moving[k]))
        k += 1
    return traces


def timeline_spec(steps: Sequence[int], xy: np.ndarray, chars: Sequence[str], *, x_title: str, y_title: str,
                  title: str = "") -> dict:
    """The animation of xy (n, V, 2) at `steps` (n,): frame 0 shown first, Play runs to the last."""
    xy = np.asarray(xy, dtype=np.float64)
    steps = [int(s) for s in steps]
    if xy.ndim != 3 or xy.shape[2] != 2 or len(xy) != len(steps) or not len(xy):
        raise ValueError(f"xy must be (n, V, 2) with one step per frame; got {xy.shape} and {len(steps)} steps")
    xr, yr, d = _view(xy)
    lab = label_positions(xy, d)
    lo, hi = lab.reshape(-1, 2).min(0) - 0.6 * d, lab.reshape(-1, 2).max(0) + 0.6 * d  # pushed labels stay whole
    xr, yr = (min(xr[0], lo[0]), max(xr[1], hi[0])), (min(yr[0], lo[1]), max(yr[1], hi[1]))
    cats = [category(c) for c in chars]
    data = _traces(xy[0], lab[0], chars, cats)
    frames = [dict(name=str(s), data=_xy(xy[f], lab[f], cats), traces=list(range(len(data))))
              for f, s in enumerate(steps)]
    still = dict(frame=dict(duration=0, redraw=False), mode="immediate", transition=dict(duration=0))
    play = dict(frame=dict(duration=FRAME_MS, redraw=False), fromcurrent=True, mode="immediate",
                transition=dict(duration=FRAME_MS * 0.8, easing="linear"))
    layout = dict(
        height=HEIGHT, margin=dict(l=10, r=10, t=70 if title else 40, b=10), plot_bgcolor="white", uirevision="keep",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
        xaxis=dict(title=dict(text=x_title), range=list(xr), zeroline=False, gridcolor="#e5e7eb", automargin=True),
        yaxis=dict(title=dict(text=y_title), range=list(yr), zeroline=False, gridcolor="#e5e7eb", automargin=True,
                   scaleanchor="x", scaleratio=1),
        updatemenus=[dict(type="buttons", direction="left", x=0, xanchor="left", y=0, yanchor="top",
                          pad=dict(t=62, r=10), showactive=False,
                          buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                                   dict(label="❚❚ Pause", method="animate", args=[[None], still])])],
        sliders=[dict(active=0, x=0.2, len=0.8, xanchor="left", y=0, yanchor="top", pad=dict(t=50, b=10),
                      currentvalue=dict(prefix="step ", font=dict(size=14), xanchor="left"),
                      transition=dict(duration=0),
                      steps=[dict(label=f"{s:,}", method="animate", args=[[str(s)], still]) for s in steps])])
    if title:
        layout["title"] = dict(text=plot_text(title), x=0, xanchor="left", y=0.985, font=dict(size=15))
    return dict(data=data, layout=layout, frames=frames)
