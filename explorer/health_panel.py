"""The Train page's activation-health panel: makemore part 3's diagnostics of the current model, live.

The trainer measures them at each evaluation and publishes them in its snapshots (`snap.health`, `health_points`,
`initial_loss`); this panel only reads them. Before the trainer has measured anything — no run yet (a fresh init from
the sidebar), or an idle run after Reset — it computes the same numbers once, with the same core function on the
same fixed batch, from the parameters the run will start from.

Cheap to redraw: a one-line summary is always shown; the figure lives in an expander that runs only while it is open
(`on_change="rerun"`), and it is rebuilt only when the health's step changes (explorer.live_chart then updates the
chart in place).

The panel needs torch (a fresh init, the diagnostics). On a fresh server's first page, drawn before the start-up
thread has loaded torch (explorer/server_start.py), it says so and fills in once that is done: the page is
interactive without waiting for the import.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from mlp_lm.errors import MLPLMError
from mlp_lm.schedule import lr_schedule

from .live_chart import live_plotly_chart
from .server_start import core_loading
from .session import REFRESH_SECONDS, live, values

OPEN_KEY = "health_open"
MOSTLY_SATURATED = 0.5  # above this share of |h| > 0.97 the panel says so (part 3's saturated init: ~70 %)


def _at_start(src):
    """(Health, points, InitialLoss) of `src`'s parameters at step 0, exactly as the trainer will measure them."""
    from mlp_lm.diagnostics import fixed_batch, health, read_initial_loss

    ds, tc = src.dataset, src.train_config
    Xb, Yb = fixed_batch(ds.Xtr, ds.Ytr, tc.seed)
    lr = float(lr_schedule(tc.schedule, tc.lr, tc.lr2, tc.decay_at, tc.steps, np.arange(1))[0])
    h = health(src.params, Xb, Yb, lr, tc.optimizer, tc.weight_decay, None, 0)
    return h, (h.point(),), read_initial_loss(h.loss, len(ds.vocab))


def readings(holder):
    """(Source, Health, points, InitialLoss, measured_by_trainer) or None when the sidebar settings make no model."""
    from .model_source import current

    try:
        src = current(holder, values())
    except MLPLMError:
        return None
    snap = src.snapshot
    if snap is not None and snap.health is not None:
        return src, snap.health, snap.health_points, snap.initial_loss, True
    ss = st.session_state
    hit = ss.get("health_at_start")
    if hit is None or hit[0] != src.key:
        hit = (src.key, _at_start(src))
        ss["health_at_start"] = hit
    return (src, *hit[1], False)


def summary(r) -> str:
    src, h, _, il, measured = r
    where = f"step {h.step:,}" if measured else "the start (before the first step)"
    dead = len(h.dead_units)
    bits = [f"**{100 * h.saturated:.1f} %** of tanh outputs saturated", f"**{dead}** dead unit{'s' * (dead != 1)}"]
    if il is not None:
        bits.append(f"initial loss **{il.loss:.2f}** (even odds: {il.uniform:.2f})")
    return f":material/monitor_heart: Activation health at {where}: " + " · ".join(bits)


def _details(r) -> None:
    from . import health_charts

    src, h, points, il, measured = r
    if il is not None:
        box = st.warning if il.reading.startswith(("confidently", "the initial")) else st.success \
            if il.reading.startswith("as expected") else st.info
        box(f"**Initial loss:** {il.reading}.", icon=":material/school:")
    if h.saturated > MOSTLY_SATURATED:
        st.warning(f"**Saturated tanh:** most units are saturated ({100 * h.saturated:.0f} %): their gradient "
                   "vanishes, so they learn slowly or not at all. Part 3's fix scales W1 by (5/3)/√fan_in (init "
                   "“scaled”, the **Init fixed** preset).", icon=":material/warning:")
    key = (src.run, src.key if not measured else None, h.step, len(points))
    hit = st.session_state.get("health_spec")
    if hit is None or hit[0] != key:  # rebuilt only when a new measurement arrived
        hit = (key, health_charts.health_spec(h, points))
        st.session_state["health_spec"] = hit
    live_plotly_chart(hit[1], key="health_chart", title="activation health", config={"displayModeBar": False})
    st.caption("Measured by the trainer at each evaluation on one fixed batch of training examples, so the frames "
               "compare. Update : data is log10(std(lr · grad) / std(param)) per parameter (the optimiser's actual "
               "step for Adam): about −3 is healthy; far above, that parameter's steps are too large; far below, it "
               "learns too slowly." if measured else
               "Computed here from the parameters the run starts from, on the batch the trainer will use; the "
               "trainer measures them again at every evaluation once the run starts.")


def _body(holder) -> None:
    r = readings(holder)
    if r is None:
        return
    st.markdown(summary(r))
    exp = st.expander("Activation health (part 3): histogram of h, dead neurons, initial loss, update : data ratio",
                      key=OPEN_KEY, on_change="rerun", icon=":material/monitor_heart:")
    if exp.open:
        with exp:
            _details(r)


@st.fragment(run_every=REFRESH_SECONDS)
def _once_loaded() -> None:
    """Until the start-up has loaded torch: one line saying so; then the whole page once (the panel drawn for real)."""
    if core_loading():
        st.caption(":material/monitor_heart: Activation health: measured as soon as PyTorch has loaded (a few "
                   "seconds after the server starts)…")
    else:
        st.rerun()


def panel(holder) -> None:
    """The panel, refreshed with the run (explorer.session.live)."""
    if core_loading():
        _once_loaded()
        return
    live(holder, lambda: _body(holder), key="health_live")
