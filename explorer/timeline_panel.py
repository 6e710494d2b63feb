"""The Embeddings page's timeline: the rows of C through training, scrubbed with a slider or played, in the browser.

The trainer keeps copies of C at ~100–200 steps of a run (mlp_lm.timeline, published as `snap.timeline`); this section
turns them into one plotly animation (timeline_charts.py) — raw dimensions, or PCA with every frame in the basis of
the latest table (timeline.project, signed to agree with the previous build), so the points move and the axes never
flip. The figure is built once per timeline change on a full rerun, not at every live refresh: while the run trains,
a button brings in the newest frames, and the run's end rebuilds it with them all. It lives in an expander that runs
only while open (sending ~100 frames costs a full rerun some tens of milliseconds).
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from mlp_lm.timeline import project

from . import timeline_charts

def _spec(steps, tables, itos, view: str, dims: tuple[int, int], prev_basis):
    idx = timeline_charts.pick(len(steps))
    steps, tables = np.asarray(steps)[idx], np.asarray(tables)[idx]
    E = tables.shape[2]
    if view == "PCA" and E > 2:
        xy, basis = project(tables, previous=prev_basis)
        ex = basis.explained
        x_title, y_title = f"PC1 ({100 * ex[0]:.1f}% of the final variance)", f"PC2 ({100 * ex[1]:.1f}%)"
        what = f"PCA of the {E}-D rows, in the final table's axes"
    else:
        dx, dy = dims
        xy, basis = tables[:, :, [dx, dy]], None
        x_title, y_title = f"C[:, {dx}]", f"C[:, {dy}]"
        what = f"dimensions {dx} and {dy} of {E}"
    spec = timeline_charts.timeline_spec(steps, xy, itos, x_title=x_title, y_title=y_title,
                                         title=f"C through training: {what}, {len(steps)} frames")
    return spec, basis


def draw(holder) -> None:
    """The timeline section for the current run (nothing before a run)."""
    snap = holder.snapshot()
    ds = holder.run_dataset()
    if snap is None or ds is None or len(snap.timeline) != 2:
        return
    exp = st.expander("The embedding timeline: C through training, step by step (slider and play button)", key="tl_open",
                      on_change="rerun", icon=":material/movie:")
    if exp.open:
        with exp:
            _section(holder, snap, ds)


def _section(holder, snap, ds) -> None:
    steps, tables = snap.timeline
    if len(steps) < 2:
        st.caption("Copies of C are kept as the run trains (at ~100–200 steps of it); the timeline appears with the "
                   "first steps.")
        return
    ss = st.session_state
    E = tables.shape[2]
    page_view = ss.get("emb_view", "PCA")
    view = "raw dimensions" if page_view == "raw dimensions" or E <= 2 else "PCA"
    dims = (int(ss.get(f"emb_dx_{E}", 0)), int(ss.get(f"emb_dy_{E}", min(1, E - 1))))
    key = (holder.run_id, int(steps[-1]), len(steps), view, dims if view == "raw dimensions" else None)
    hit = ss.get("tl_figure")
    # built (and validated, ~0.2–0.4 s) once per timeline change, then only sent; while the run trains its timeline
    # changes at every chunk, so the figure is kept (other clicks stay fast) until "Add the newest frames"
    add = ss.pop("tl_add", False)
    same_view = hit is not None and hit[0][0] == key[0] and hit[0][3:] == key[3:]
    keep = same_view and snap.status == "running" and not add
    if hit is None or (hit[0] != key and not keep):
        basis_key = f"tl_basis_{holder.run_id}"
        spec, basis = _spec(steps, tables, list(ds.vocab.itos), view, dims, ss.get(basis_key))
        if basis is not None:
            ss[basis_key] = basis
        hit = (key, go.Figure(spec), len(spec["frames"]))
        ss["tl_figure"] = hit
    note = "" if page_view == view else " (t-SNE lays each frame out afresh, with no common axes: the timeline plays PCA)"
    st.caption(f"Press **▶ Play** or drag the slider: the browser plays the {hit[2]} frames kept from step "
               f"{int(steps[0]):,} to {hit[0][1]:,}, in the page's view{note}. Vowels red, consonants blue, '.' black.")
    st.plotly_chart(hit[1], key="emb_timeline", config={"displaylogo": False})
    if snap.status == "running":
        st.button("Add the newest frames", key="tl_refresh", icon=":material/refresh:",
                  on_click=lambda: st.session_state.update(tl_add=True),
                  help="The run is still training: the timeline above ends at the step it was built at. Its end "
                       "rebuilds it with every frame.")
