"""The Runs page's figure: several runs' smoothed loss curves and dev-loss evaluations overlaid, one colour per run.

`overlay_spec` returns a plain plotly figure dict (like charts.loss_spec) for explorer.live_chart, so the chart is
updated in place — zoom kept — while a run of this session trains. No Streamlit here.
"""
from __future__ import annotations

import math

import numpy as np

from .charts import plot_text

# Tableau 10: distinct, colour-blind-aware hues; a run beyond the tenth reuses them with a dashed line
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac")
DASHES = ("solid", "dash", "dot")


def colour(i: int) -> tuple[str, str]:
    """(colour, line dash) of the i-th run on the chart."""
    return PALETTE[i % len(PALETTE)], DASHES[(i // len(PALETTE)) % len(DASHES)]


def overlay_spec(items, *, log10: bool = True, refs: dict | None = None) -> dict:
    """items: [(label, steps, smoothed losses, eval steps, eval dev losses)] in legend order.

    Each run: its smoothed training-minibatch loss as a line and its dev-loss evaluations as markers joined by a
    dotted line, in one colour and one legend group (clicking the legend entry hides both).
    """
    f = (lambda a: np.log10(np.maximum(np.asarray(a, dtype=np.float64), 1e-12))) if log10 else \
        (lambda a: np.asarray(a, dtype=np.float64))
    hover = "%{fullData.name}<br>step %{x:,}<br>loss %{customdata:.4f}<extra></extra>"
    data = []
    for i, (label, steps, smooth, ev_steps, ev_dev) in enumerate(items):
        label = plot_text(label)  # run names are user text
        c, dash = colour(i)
        group = f"run{i}"
        if len(steps):
            data.append(dict(type="scatter", mode="lines", name=label, legendgroup=group, x=np.asarray(steps, dtype=np.int64),
                             y=f(smooth).astype(np.float32), customdata=np.asarray(smooth, dtype=np.float32),
                             line=dict(color=c, width=2, dash=dash), hovertemplate=hover))
        if len(ev_steps):
            data.append(dict(type="scatter", mode="markers+lines", name=f"{label} · dev", legendgroup=group,
                             showlegend=not len(steps), x=np.asarray(ev_steps, dtype=np.int64),
                             y=f(ev_dev).astype(np.float32), customdata=np.asarray(ev_dev, dtype=np.float32),
                             marker=dict(color=c, size=7, symbol="diamond"), line=dict(color=c, width=1, dash="dot"),
                             hovertemplate=hover))
    shapes, notes = [], []
    for label, value in (refs or {}).items():
        if value is None or not math.isfinite(value):
            continue
        y = float(f([value])[0])
        shapes.append(dict(type="line", xref="x domain", x0=0, x1=1, yref="y", y0=y, y1=y,
                           line=dict(color="#6b7280", dash="dash", width=1)))
        notes.append(dict(xref="x domain", x=0.01, xanchor="left", yref="y", y=y, yanchor="top", showarrow=False,
                          text=f"{label} {value:.3f}", font=dict(color="#6b7280"), bgcolor="rgba(255,255,255,0.8)"))
    layout = dict(height=460, margin=dict(l=10, r=10, t=30, b=10), hovermode="closest", shapes=shapes,
                  annotations=notes, legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
                  xaxis=dict(title=dict(text="step")),
                  yaxis=dict(title=dict(text="log10(loss)" if log10 else "loss")))
    return dict(data=data, layout=layout)
