"""The activation-health figure (makemore part 3's diagnostics) as one plain plotly figure dict for explorer.live_chart:
the histogram of the tanh outputs h with the saturated share, the lecture's `h.abs() > 0.99` image with the dead
units marked, and the update-to-data ratio of C, W1, W2 over the run with the guide band around −3.

One figure (one chart element, redrawn in place at each evaluation), its panels placed in pixels by
forward_charts.stack so titles and ticks never collide. Built from a `diagnostics.Health` and its `HealthPoint`s;
no Streamlit, no tensors.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from mlp_lm.diagnostics import DEAD, RATIO_BAND, RATIO_GUIDE, RATIO_PARAMS, SATURATED

from .charts import CHOSEN_COLOUR, SMOOTH_COLOUR
from .forward_charts import TICKS_PX, TITLE_PX, stack, panel_title

RATIO_COLOURS = {"C": "#0891b2", "W1": "#7c3aed", "W2": "#d97706"}
DEAD_COLOUR = "#dc2626"
IMAGE_SCALE = [[0.0, "#111827"], [1.0, "#ffffff"]]  # imshow(..., cmap="gray"): True is white
LEFT, RIGHT = [0.0, 0.4], [0.5, 1.0]                # x domains of the two top panels


def _finite(a) -> list:
    return [float(v) if np.isfinite(v) else None for v in np.asarray(a, dtype=np.float64)]


def health_spec(health, points: Sequence = ()) -> dict:
    """The figure dict for one Health (the latest measurement) and the run's HealthPoints (oldest first)."""
    height, (top, bottom) = stack([(TITLE_PX, 210, TICKS_PX + 22), (TITLE_PX + 18, 190, TICKS_PX + 22)])
    counts, edges = np.asarray(health.hist_counts), np.asarray(health.hist_edges)
    centres = (edges[:-1] + edges[1:]) / 2
    width = float(edges[1] - edges[0]) if len(edges) > 1 else 0.04
    sat_bins = np.abs(centres) + width / 2 > SATURATED
    data = [dict(type="bar", x=centres.tolist(), y=counts.tolist(), width=width, xaxis="x", yaxis="y",
                 marker=dict(color=[CHOSEN_COLOUR if s else SMOOTH_COLOUR for s in sat_bins], line=dict(width=0)),
                 name="h", hovertemplate="h ≈ %{x:.2f}: %{y:,} values<extra></extra>", showlegend=False)]

    image = np.asarray(health.dead_image, dtype=np.float64)
    rows, H = image.shape if image.ndim == 2 else (0, 0)
    dead = [int(u) for u in np.asarray(health.dead_units)]
    data.append(dict(type="heatmap", z=image.tolist(), xaxis="x2", yaxis="y2", colorscale=IMAGE_SCALE, zmin=0, zmax=1,
                     showscale=False, hovertemplate="example %{y}, unit %{x}: |h| > 0.99 = %{z:.0f}<extra></extra>"))
    if dead:
        data.append(dict(type="scatter", x=dead, y=[-1.6] * len(dead), xaxis="x2", yaxis="y2", mode="markers",
                         marker=dict(symbol="triangle-down", size=9, color=DEAD_COLOUR), showlegend=False,
                         name="dead", hovertemplate="unit %{x}: saturated on every example (dead)<extra></extra>"))

    steps = [int(p.step) for p in points]
    lo, hi = RATIO_BAND
    values = [r for p in points for r in p.update_ratios if np.isfinite(r)]
    y0, y1 = min(values + [lo - 0.5]) - 0.3, max(values + [hi + 0.5]) + 0.3
    for k, name in enumerate(RATIO_PARAMS):
        data.append(dict(type="scatter", x=steps, y=_finite([p.update_ratios[k] for p in points]), xaxis="x3",
                         yaxis="y3", mode="lines+markers", name=name, line=dict(color=RATIO_COLOURS[name], width=2),
                         marker=dict(size=5), legendrank=k,
                         hovertemplate=f"{name}: %{{y:.2f}} at step %{{x:,}}<extra></extra>"))

    pct = 100 * float(health.saturated)
    axis = dict(showgrid=False, zeroline=False, automargin=True)
    layout = dict(
        height=height, margin=dict(l=10, r=10, t=6, b=6), plot_bgcolor="white", uirevision="keep", bargap=0,
        showlegend=True, legend=dict(orientation="h", x=1, xanchor="right", y=bottom[1], yanchor="bottom",
                                     font=dict(size=13), bgcolor="rgba(255,255,255,0.8)"),
        xaxis=dict(domain=LEFT, anchor="y", range=[-1, 1], title=dict(text="tanh output h", standoff=4), **axis),
        yaxis=dict(domain=top, anchor="x", title=dict(text="values", standoff=4), gridcolor="#e5e7eb",
                   rangemode="tozero", nticks=5, automargin=True),
        xaxis2=dict(domain=RIGHT, anchor="y2", range=[-0.5, max(H, 1) - 0.5],
                    title=dict(text=f"hidden unit (of {H})", standoff=4), **axis),
        yaxis2=dict(domain=top, anchor="x2", range=[rows - 0.5, -2.6], title=dict(text="example", standoff=4),
                    tickvals=[0, rows // 2, rows - 1] if rows else [], **axis),
        xaxis3=dict(domain=[0, 1], anchor="y3", title=dict(text="step", standoff=4), tickformat="~s", **axis),
        yaxis3=dict(domain=bottom, anchor="x3", range=[y0, y1], gridcolor="#e5e7eb", zeroline=False, automargin=True,
                    title=dict(text="log10 ratio", standoff=4), nticks=6),
        shapes=[dict(type="rect", xref="x", yref="y domain", x0=x0, x1=x1, y0=0, y1=1, line=dict(width=0),
                     fillcolor="rgba(228, 87, 46, 0.10)", layer="below") for x0, x1 in ((-1, -SATURATED), (SATURATED, 1))]
               + [dict(type="rect", xref="x3 domain", yref="y3", x0=0, x1=1, y0=lo, y1=hi, line=dict(width=0),
                       fillcolor="rgba(5, 150, 105, 0.12)", layer="below"),
                  dict(type="line", xref="x3 domain", yref="y3", x0=0, x1=1, y0=RATIO_GUIDE, y1=RATIO_GUIDE,
                       line=dict(color="#059669", dash="dash", width=1.5))],
        annotations=[
            dict(panel_title(f"<b>h</b> on a fixed batch · <b>{pct:.1f} %</b> saturated (|h| > {SATURATED:g}, "
                             "orange)", top), x=LEFT[0]),
            dict(panel_title(f"<b>h.abs() > {DEAD:g}</b> (white) · <b>{len(dead)}</b> dead unit"
                             f"{'s' if len(dead) != 1 else ''}{' (▼)' if dead else ''}", top), x=RIGHT[0]),
            panel_title(f"<b>update : data ratio</b> (log10) · green: the lecture's guide, about "
                        f"{RATIO_GUIDE:g}".replace("-", "−"), bottom)])
    return dict(data=data, layout=layout)
