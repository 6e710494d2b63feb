"""The Forward pass page's figures: one example (mlp_lm.walkthrough.Walkthrough) drawn stage by stage, and the
overfit-one-batch curve.

`embedding_spec`, `layer_spec` and `output_spec` return plain plotly figure dicts for explorer.live_chart (they are
redrawn as the run trains: no go.Figure validation, updated in place); `overfit_figure` is a go.Figure drawn once.
Every panel of a figure is stacked at fixed pixel heights (`stack`), so labels never collide whatever the sizes.
No Streamlit here.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from .charts import CHOSEN_COLOUR, OTHER_COLOUR, SMOOTH_COLOUR, base_layout, plot_text, show_char

DIVERGING = [[0.0, "#2166ac"], [0.5, "#f7f7f7"], [1.0, "#b2182b"]]  # negative blue, zero white, positive red
ONEHOT_SCALE = [[0.0, "#f1f5f9"], [1.0, "#111827"]]
SATURATED_SCALE = [[0.0, "rgba(0,0,0,0)"], [1.0, "#111827"]]
TITLE_PX, TICKS_PX = 22, 24   # a panel's title line; a row of tick labels
TEXT_COLUMNS = 16             # numbers are written into a heatmap's cells up to this many columns (else: hover)


def chars(itos: Sequence[str]) -> list[str]:
    return [plot_text(show_char(c)) for c in itos]


def fmt_p(p: float) -> str:
    """A probability: 4 decimals, or 3 significant digits when it is that small (5.39e-17 at the lecture's init)."""
    return f"{p:.4f}" if p >= 1e-3 else f"{p:.3g}"


def stack(panels: Sequence[tuple[int, int, int]], top: int = 6, bottom: int = 6) -> tuple[int, list[list[float]]]:
    """Panels stacked top to bottom: (space above for its title, its height, space below for ticks), in pixels.
    Returns (figure height, [y domain of each panel] in paper fractions) with margins `top` / `bottom`."""
    plot = sum(a + h + b for a, h, b in panels)
    doms, y = [], plot
    for above, h, below in panels:
        y -= above
        doms.append([max((y - h) / plot, 0.0), min(y / plot, 1.0)])
        y -= h + below
    return plot + top + bottom, doms


def panel_title(text: str, domain: Sequence[float], size: int = 14) -> dict:
    return dict(xref="paper", yref="paper", x=0, xanchor="left", y=domain[1], yanchor="bottom", yshift=3,
                text=text, showarrow=False, font=dict(size=size, color="#31333f"))


def _sym(a) -> float:
    m = float(np.nanmax(np.abs(a))) if np.size(a) else 1.0
    return m if np.isfinite(m) and m > 0 else 1.0


def _heat(z, axes: tuple[str, str], *, scale, zmin=None, zmax=None, text=False, fmt=".2f", hover="%{z:.4f}") -> dict:
    z = np.asarray(z, dtype=np.float64)
    gap = 1 if z.shape[-1] <= 60 else 0  # white lines between cells, until the cells are too thin for them
    t = dict(type="heatmap", z=np.where(np.isfinite(z), z, np.nan).tolist(), xaxis=axes[0], yaxis=axes[1],
             colorscale=scale, showscale=False, xgap=gap, ygap=1,
             hovertemplate=hover + "<extra></extra>")
    if zmin is not None:
        t.update(zmin=zmin, zmax=zmax)
    if text:
        t.update(texttemplate="%{z:" + fmt + "}", textfont=dict(size=12))
    return t


def _spec(data: list, layout: dict, height: int) -> dict:
    layout = dict(height=height, margin=dict(l=10, r=10, t=6, b=6), showlegend=False, uirevision="keep",
                  plot_bgcolor="white", **layout)
    return dict(data=data, layout=layout)


def embedding_spec(w) -> dict:
    """F.one_hot(X, V) (T × V) above C[X] (T × E): the one-hot row of each context character picks its row of C."""
    T, V = w.onehot.shape
    E = w.C_rows.shape[1]
    cell = 28 if T <= 4 else 20
    height, (d1, d2) = stack([(TITLE_PX, T * cell, TICKS_PX), (TITLE_PX + 6, T * cell, TICKS_PX + 18)])
    rows = [f"'{plot_text(show_char(c))}' = {int(i)}" for c, i in zip(w.context, w.ix)]
    onehot = _heat(w.onehot, ("x", "y"), scale=ONEHOT_SCALE, zmin=0, zmax=1, hover="row %{y}, column %{x}: %{z:.0f}")
    onehot["text"] = [["1" if v else "" for v in r] for r in np.asarray(w.onehot)]
    onehot.update(texttemplate="%{text}", textfont=dict(size=12, color="white"))
    crows = _heat(w.C_rows, ("x2", "y2"), scale=DIVERGING, zmin=-_sym(w.C_rows), zmax=_sym(w.C_rows),
                  text=E <= TEXT_COLUMNS, hover="C[%{y}] dim %{x}: %{z:.4f}")
    yax = dict(tickmode="array", tickvals=list(range(T)), ticktext=rows, autorange="reversed", automargin=True,
               ticks="", showgrid=False, zeroline=False)
    layout = dict(
        xaxis=dict(domain=[0, 1], anchor="y", tickmode="array", tickvals=list(range(V)), ticktext=chars(w.itos),
                   tickfont=dict(size=13 if V <= 30 else 10), showgrid=False, zeroline=False),
        yaxis=dict(domain=d1, **yax),
        xaxis2=dict(domain=[0, 1], anchor="y2", dtick=1 if E <= 32 else None, showgrid=False, zeroline=False,
                    title=dict(text="embedding dimension", standoff=4, font=dict(size=12))),
        yaxis2=dict(domain=d2, **yax),
        annotations=[panel_title(f"<b>F.one_hot(X, num_classes={V}).float()</b>  shape ({T}, {V})", d1),
                     panel_title(f"<b>C[X]</b> (= one_hot @ C)  shape ({T}, {E})", d2)])
    return _spec([onehot, crows], layout, height)


def layer_spec(w) -> dict:
    """emb.view(-1, T*E) → hpreact = emb @ W1 + b1 → h = tanh(hpreact) as strips, the saturated units (|h| > 0.97)
    marked in a thin strip under h."""
    T, E = w.C_rows.shape
    H = w.h.shape[1]
    height, (d1, d2, d3, d4) = stack([(TITLE_PX, 34, TICKS_PX), (TITLE_PX + 4, 34, 4), (TITLE_PX, 34, 2),
                                       (0, 10, TICKS_PX + 18)])
    emb = _heat(w.emb, ("x", "y"), scale=DIVERGING, zmin=-_sym(w.emb), zmax=_sym(w.emb), text=T * E <= TEXT_COLUMNS, fmt=".1f",
                hover="emb[0, %{x}]: %{z:.4f}")
    m = _sym(w.hpreact)
    pre = _heat(w.hpreact, ("x2", "y2"), scale=DIVERGING, zmin=-m, zmax=m, hover="unit %{x}: %{z:.3f}")
    h = _heat(w.h, ("x3", "y3"), scale=DIVERGING, zmin=-1, zmax=1, hover="unit %{x}: h = %{z:.4f}")
    sat = _heat(np.asarray(w.saturated, dtype=np.float64)[None], ("x4", "y4"), scale=SATURATED_SCALE, zmin=0, zmax=1,
                hover="unit %{x}: saturated %{z:.0f}")
    sat["xgap"] = 0
    hidden = dict(showticklabels=False, ticks="", showgrid=False, zeroline=False, fixedrange=True)
    units = dict(domain=[0, 1], showgrid=False, zeroline=False)
    centres = [i * E + (E - 1) / 2 for i in range(T)]
    n, pct = w.n_saturated, 100 * w.n_saturated / max(H, 1)
    layout = dict(
        xaxis=dict(domain=[0, 1], anchor="y", tickmode="array", tickvals=centres, showgrid=False, zeroline=False,
                   ticktext=[f"C['{plot_text(show_char(c))}'] ({E} numbers)" for c in w.context]),
        yaxis=dict(domain=d1, **hidden),
        xaxis2=dict(anchor="y2", showticklabels=False, ticks="", **units), yaxis2=dict(domain=d2, **hidden),
        xaxis3=dict(anchor="y3", matches="x2", showticklabels=False, ticks="", **units), yaxis3=dict(domain=d3, **hidden),
        xaxis4=dict(anchor="y4", matches="x2", title=dict(text="hidden unit", standoff=4, font=dict(size=12)), **units),
        yaxis4=dict(domain=d4, **hidden),
        shapes=[dict(type="line", xref="x", yref="y domain", x0=i * E - 0.5, x1=i * E - 0.5, y0=-0.1, y1=1.1,
                     line=dict(color="#111827", width=2)) for i in range(1, T)],
        annotations=[panel_title(f"<b>emb.view(-1, {T * E})</b>  shape (1, {T * E}): the {T} rows laid end to end", d1),
                     panel_title(f"<b>hpreact = emb @ W1 + b1</b>  shape (1, {H})", d2),
                     panel_title(f"<b>h = torch.tanh(hpreact)</b>  shape (1, {H}) · black below: {n} saturated "
                            f"(|h| > 0.97, {pct:.0f} %)", d3)])
    return _spec([emb, pre, h, sat], layout, height)


def output_spec(w) -> dict:
    """logits → counts = logits.exp() (log axis) → probs as bars over the characters, the true next one in orange."""
    V = w.logits.shape[1]
    labels = chars(w.itos)
    height, doms = stack([(TITLE_PX, 100, 6), (TITLE_PX, 100, 6), (TITLE_PX, 130, TICKS_PX + 18)])
    colours = [CHOSEN_COLOUR if i == w.target_ix else OTHER_COLOUR for i in range(V)]
    x = list(range(V))
    counts = np.asarray(w.counts[0], dtype=np.float64)
    data, layout = [], {}
    rows = (("logits", np.asarray(w.logits[0], np.float64), "logit %{y:.3f}"),
            ("counts", np.where(np.isfinite(counts) & (counts > 0), counts, np.nan), "count %{y:.4g}"),
            ("probs", np.asarray(w.probs[0], np.float64), "p = %{y:.4f}"))
    for k, ((name, y, hover), dom) in enumerate(zip(rows, doms), start=1):
        sx, sy = ("x", "y") if k == 1 else (f"x{k}", f"y{k}")
        data.append(dict(type="bar", x=x, y=np.where(np.isfinite(y), y, np.nan).tolist(), xaxis=sx, yaxis=sy,
                         marker=dict(color=colours), customdata=labels, name=name,
                         hovertemplate="'%{customdata}': " + hover + "<extra></extra>"))
        last = k == len(rows)
        xa = dict(domain=[0, 1], anchor=sy, tickmode="array", tickvals=x, ticktext=labels, showticklabels=last,
                  tickfont=dict(size=14 if V <= 30 else 10), showgrid=False, zeroline=False)
        if k > 1:
            xa["matches"] = "x"
        if last:
            xa["title"] = dict(text="next character (orange: the true one)", standoff=4, font=dict(size=12))
        ya = dict(domain=dom, gridcolor="#e5e7eb", zeroline=True, zerolinecolor="#9ca3af", nticks=4, automargin=True)
        if name == "counts":
            ya.update(type="log", exponentformat="power", nticks=5)
        if name == "probs":
            ya["range"] = [0, max(min(1.0, float(np.nanmax(y)) if np.isfinite(y).any() else 1.0) * 1.3, 0.05)]
        layout["xaxis" if k == 1 else f"xaxis{k}"] = xa
        layout["yaxis" if k == 1 else f"yaxis{k}"] = ya
    tgt = plot_text(show_char(w.target))
    total = float(np.nansum(counts)) if np.isfinite(counts).all() else float("inf")
    layout["annotations"] = [
        panel_title(f"<b>logits = h @ W2 + b2</b>  shape (1, {V}) · largest {float(np.nanmax(w.logits)):.2f}", doms[0]),
        panel_title(f"<b>counts = logits.exp()</b>  shape (1, {V}) · log axis · sum {total:.4g}", doms[1]),
        panel_title(f"<b>probs = counts / counts.sum(1, keepdims=True)</b>  shape (1, {V}) · sums to 1", doms[2]),
        dict(x=int(w.target_ix), y=float(w.probs[0, w.target_ix]), xref="x3", yref="y3", yanchor="bottom", ax=0, ay=-26,
             xanchor="left" if w.target_ix < V / 4 else "right" if w.target_ix > 3 * V / 4 else "center",
             text=f"target p['{tgt}'] = {fmt_p(w.p_target)}", showarrow=True, arrowhead=2, arrowcolor=CHOSEN_COLOUR,
             font=dict(size=14, color=CHOSEN_COLOUR), bgcolor="rgba(255,255,255,0.9)")]
    return _spec(data, layout, height)


def overfit_figure(steps, losses, floor: float, final: float, n_examples: int) -> go.Figure:
    """The full-batch loss of the overfit run (log axis) falling onto the exact floor, which is drawn and named."""
    steps, losses = np.asarray(steps), np.asarray(losses, dtype=np.float64)
    fig = go.Figure(go.Scatter(x=steps, y=losses, mode="lines", name="loss on the batch",
                               line=dict(color=SMOOTH_COLOUR, width=2.5),
                               hovertemplate="step %{x:,}<br>loss %{y:.4f}<extra></extra>"))
    fig.add_hline(y=floor, line=dict(color=CHOSEN_COLOUR, dash="dash", width=2))
    fig.add_annotation(xref="paper", x=1, xanchor="right", y=np.log10(floor), yanchor="top", yshift=-4,
                       text=f"floor {floor:.4f}: the best any model can do on these {n_examples} examples (not 0)",
                       showarrow=False, font=dict(size=13, color=CHOSEN_COLOUR), bgcolor="rgba(255,255,255,0.85)")
    top = float(np.nanmax(losses)) if len(losses) else 1.0
    fig.update_xaxes(title_text="step (every step sees all the examples)", title_standoff=6)
    lo, hi = floor / 2.2, max(top, floor) * 1.25
    ticks = [v for v in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if lo <= v <= hi]
    fig.update_yaxes(title_text="loss (log axis)", type="log", range=[np.log10(lo), np.log10(hi)], tickmode="array",
                     tickvals=ticks, ticktext=[f"{v:g}" for v in ticks])
    return base_layout(fig, height=340, showlegend=False, margin=dict(l=10, r=10, t=10, b=10))
