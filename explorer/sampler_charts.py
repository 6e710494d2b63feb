"""The sampler's figures: one name's steps as a heatmap (steps × characters, the drawn cells marked), the distribution
of one step as large bars with every character labelled and the drawn one named, and a typed name's scores.

Plain data in, `go.Figure` out; no Streamlit. User text (names, contexts) goes through charts.plot_text.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .charts import CHOSEN_COLOUR, OTHER_COLOUR, SMOOTH_COLOUR, base_layout, layout, plot_text, show_char


def _char_font(n: int) -> dict:
    """Tick labels for n characters: large for the usual 27, smaller (then turned) for big vocabularies."""
    return dict(size=17 if n <= 30 else 13 if n <= 45 else 10)


def step_label(i: int, context: str, char: str) -> str:
    """ "3. '.ca' → r": step i (from 0) of a sample, as a row or axis label (plain text; escape it for Plotly)."""
    return f"{i + 1}. '{context}' → {show_char(char)}"


def next_char_figure(probs, itos: Sequence[str], chosen: int | None, *, title: str = "", height: int = 380) -> go.Figure:
    """The next-character distribution as bars: every character labelled on the axis, the drawn one in orange with
    its name and probability written above it."""
    probs = [float(p) for p in np.asarray(probs, dtype=np.float64)]
    labels = [plot_text(show_char(c)) for c in itos]
    n = len(labels)
    colours = [CHOSEN_COLOUR if i == chosen else OTHER_COLOUR for i in range(n)]
    text = [f"{p:.2f}" if p >= 0.02 and i != chosen else "" for i, p in enumerate(probs)]
    bars = go.Bar(x=labels, y=probs, marker_color=colours, name="P(next char)", text=text, textposition="outside",
                  textfont=dict(size=12 if n <= 30 else 9), cliponaxis=False,
                  hovertemplate="'%{x}'  p = %{y:.4f}<extra></extra>")
    top = max(probs, default=1.0)
    notes = []  # the layout is given whole when the figure is made (see charts.layout: update_* cost ~20 ms more)
    if chosen is not None and 0 <= chosen < n:
        notes.append(dict(x=labels[chosen], y=probs[chosen], text=f"drew '{labels[chosen]}'<br>p = {probs[chosen]:.3f}",
                          showarrow=True, arrowhead=2, arrowcolor=CHOSEN_COLOUR, ax=0, ay=-42, yanchor="bottom",
                          font=dict(color=CHOSEN_COLOUR, size=15), bgcolor="rgba(255,255,255,0.9)"))
    xaxis = dict(type="category", title=dict(text="next character"), tickmode="array", tickvals=labels, ticktext=labels,
                 tickfont=_char_font(n), tickangle=0 if n <= 45 else -90)
    yaxis = dict(title=dict(text="probability"), range=[0, min(1.0, top) * 1.35 + 0.02], rangemode="tozero")
    return go.Figure(data=[bars], layout=layout(
        height=height, showlegend=False, margin=dict(l=10, r=10, t=40 if title else 10, b=10), annotations=notes,
        xaxis=xaxis, yaxis=yaxis,
        title=dict(text=plot_text(title), x=0, xanchor="left", y=0.97, font=dict(size=16)) if title else None))


def steps_heatmap(contexts: Sequence[str], chars: Sequence[str], probs: np.ndarray, chosen: Sequence[int],
                  itos: Sequence[str], selected: int | None = None) -> go.Figure:
    """All steps of one sample: rows = steps ("context → char"), columns = characters, colour = probability, the
    drawn cell of each row outlined in orange, probabilities ≥ 0.1 (and the drawn one) written in their cells, the
    `selected` row boxed."""
    rows = [plot_text(step_label(i, ctx, ch)) for i, (ctx, ch) in enumerate(zip(contexts, chars))]
    cols = [plot_text(show_char(c)) for c in itos]
    z = np.asarray(probs, dtype=np.float64)
    text = [[("1" if p >= 0.995 else f"{p:.2f}"[1:]) if p >= 0.1 or j == c else "" for j, p in enumerate(row)]
            for row, c in zip(z, chosen)]  # the drawn cell always shows its probability
    heat = go.Heatmap(z=z.tolist(), x=cols, y=rows, colorscale="Blues", zmin=0, zmax=1, text=text,
                               texttemplate="%{text}", textfont=dict(size=11), xgap=1, ygap=1,
                               hovertemplate="%{y}<br>'%{x}'  p = %{z:.4f}<extra></extra>",
                               colorbar=dict(title=dict(text="p"), thickness=12, len=min(1.0, 0.3 + 0.08 * len(rows))))
    drawn = go.Scatter(x=[cols[c] for c in chosen], y=rows, mode="markers", name="drawn",
                       marker=dict(symbol="square-open", size=20, color=CHOSEN_COLOUR, line=dict(width=3)),
                       hoverinfo="skip")
    boxes = []  # the layout is given whole when the figure is made (see charts.layout)
    if selected is not None and 0 <= selected < len(rows):
        boxes.append(dict(type="rect", xref="paper", x0=0, x1=1, yref="y", y0=selected - 0.5, y1=selected + 0.5,
                          line=dict(color="#111827", width=2)))
    yaxis = dict(autorange="reversed", type="category", tickfont=dict(size=14))
    xaxis = dict(type="category", side="top", tickmode="array", tickvals=cols, ticktext=cols,
                 tickfont=_char_font(len(cols)))
    return go.Figure(data=[heat, drawn], layout=layout(height=90 + 30 * len(rows), showlegend=False, shapes=boxes,
                                                       margin=dict(l=10, r=10, t=40, b=10), xaxis=xaxis, yaxis=yaxis))


def score_figure(chars: Sequence[str], contexts: Sequence[str], probs, vocab_size: int) -> go.Figure:
    """P(each character | its context) for a typed name, with the uniform 1/V guess for comparison."""
    probs = [float(p) for p in np.asarray(probs, dtype=np.float64)]
    x = [plot_text(step_label(i, ctx, ch)) for i, (ctx, ch) in enumerate(zip(contexts, chars))]
    fig = go.Figure(go.Bar(x=x, y=probs, marker_color=SMOOTH_COLOUR, text=[f"{p:.3f}" for p in probs],
                           textposition="outside", hovertemplate="%{x}<br>p = %{y:.4f}<extra></extra>"))
    fig.add_hline(y=1.0 / vocab_size, line=dict(color=OTHER_COLOUR, dash="dash"),
                  annotation_text=f"uniform 1/{vocab_size}", annotation_position="top right")
    fig.update_xaxes(type="category", title_text="context → character", tickfont=dict(size=13))
    fig.update_yaxes(title_text="probability", range=[0, 1.1])
    return base_layout(fig, height=340, showlegend=False)
