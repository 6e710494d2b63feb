"""The Streamlit side of the per-session state: the holder resource, widget defaults, cached derived results,
and the live-refresh helper. Pages call these; the plain logic lives in holder.py / settings.py.

One `Holder` per browser session: `st.cache_resource(scope="session", on_release=...)` creates it on the session's
first run and calls `Holder.close` (which stops the trainer) when the session ends — tab closed or websocket
dropped — or when the cache is cleared. Keeping it in st.session_state instead would have no such hook.
"""
from __future__ import annotations

import os
import re

import streamlit as st
from streamlit.logger import get_logger

from . import capacity
from .holder import Holder, default_names
from .shared_data import bigram_loss  # noqa: F401  (the pages read it from here)
from .settings import DEFAULT_PRESET, FIELDS, default_values

REFRESH_SECONDS = 0.5  # live views refresh at 2 Hz while something can change (on a server that is not crowded)
LOAD_POWER = 2  # on a crowded server, (runs training per core) ** LOAD_POWER times as long: 4 runs on 2 cores, 2 s
STATUS_SECONDS = REFRESH_SECONDS  # the sidebar's status line refreshes with the pages, so the two never disagree by
                                  # more than one refresh (at 1.5 s it read step 43,256 beside the page's 51,701)
_LOG = get_logger(__name__)


def _release(holder: Holder) -> None:
    """on_release: may run outside the script thread, so it makes no Streamlit call: it stops the trainer (its
    capacity slot is free at once), drops what the holder holds, gives the memory back (holder.close) and logs."""
    snap = holder.snapshot()
    holder.close()
    _LOG.info("session ended: stopped its trainer (run %d, %s at step %s)", holder.run_id,
              snap.status if snap else "no run", f"{snap.step:,}" if snap else "0")


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def get_holder() -> Holder:
    return Holder()


SIDEBAR_KEYS = ("preset",) + FIELDS + ("step_n",)


def init_widget_state() -> None:
    """Give every sidebar widget its starting value (the default preset) once per session, and re-state every value
    on every full run.

    The sidebar's widgets get their values from session_state (no `value=`), so the default their element carries is
    their minimum. Streamlit sends the value itself only in a run where it was set through session_state; a browser
    that mounts the widget from an element without it (a Start pressed as the first page loaded, ~1 run in 4 on a
    cold server) shows and later sends that minimum, which the sidebar then pushed into the live run as lr 1e-6 and
    lr2 0. Re-stating each value here makes every element carry it (tests/test_app_widget_values.py).
    """
    ss = st.session_state
    if "preset" not in ss:
        ss["preset"] = DEFAULT_PRESET
    defaults = default_values(ss["preset"])
    for k in FIELDS:
        if k not in ss:
            ss[k] = defaults[k]
    ss.setdefault("step_n", 100)
    for k in SIDEBAR_KEYS:
        ss[k] = ss[k]


def values() -> dict:
    """The sidebar's current settings, keyed like settings.FIELDS."""
    return {k: st.session_state[k] for k in FIELDS}


_MD_INLINE = re.compile(r"([\\`*_\[\]<>$:~|&])")          # emphasis, code, links/images, HTML, LaTeX, directives
_MD_BLOCK = re.compile(r"^(\s*)([#+\-=>]|\d+(?=[.)]))", re.M)  # a heading, list or quote marker at a line's start
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(?=\\:/)|(?<=\bwww)(?=\.)|(?=@)")  # where GFM would start a bare link
JOINER = "\u2060"  # WORD JOINER: invisible; between "http" and "://", "www" and ".", before "@", no link is made


def md_literal(s: str) -> str:
    """User text for st.markdown (and widget labels): the characters Markdown, LaTeX and Streamlit's directives act on
    backslash-escaped, so `**b**`, `$x$`, `:red[x]`, `<b>x</b>` or `[x](javascript:…)` in a name show as typed, and an
    invisible word joiner where a bare address (`http://…`, `www.…`, `a@b`) would otherwise become a link."""
    out = _MD_INLINE.sub(r"\\\1", str(s))
    out = _MD_BLOCK.sub(lambda m: m.group(1) + ("\\" + m.group(2) if not m.group(2)[0].isdigit() else m.group(2) + "\\"), out)
    return _AUTOLINK.sub(JOINER, out)


def shown(md: str) -> str:
    """What md_literal's output reads as on the page (the escapes and joiners removed): for tests and messages."""
    return re.sub(r"\\(.)", r"\1", md).replace(JOINER, "")


# ---- cached derived results (keyed on content, so they are shared safely between sessions) ---------------------------
# Each is bounded server-wide: bigram_loss (explorer/shared_data.py) keeps floats, _built figures
# (t-SNE layouts: explorer/tsne_ahead.py) — a few MB at most, however many sessions.

def default_fingerprint() -> str:
    """The default names list's fingerprint (read once per server): the lecture's reference figures are for it."""
    return default_names().fingerprint


@st.cache_resource(show_spinner=False, max_entries=64)
def _built(_builder, name: str, args: tuple, kwargs: dict):
    return _builder(*args, **kwargs)


def figure(builder, *args, **kwargs):
    """`builder(*args, **kwargs)` — a chart module's go.Figure builder — kept by the content of its arguments, so a
    rerun that draws the same chart again (a page revisited, a widget elsewhere changed) skips building it: plotly's
    property validation costs 10–60 ms a figure. The figure is shared between reruns and sessions: pass it to
    st.plotly_chart (which only reads it), never change it."""
    return _built(builder, f"{builder.__module__}.{builder.__qualname__}", args, kwargs)


# ---- live refresh -----------------------------------------------------------------------------------------------------

def refresh_seconds(every: float = REFRESH_SECONDS) -> float:
    """A live view's refresh interval: `every` while at most one run per core trains on this server, (runs per
    core) ** LOAD_POWER times as long when more do (4 runs on 2 cores: 4×, i.e. 2 s), so a classroom's tabs leave the
    server's event loop and the cores time to answer. The status line and the page scale alike, so they still agree within a refresh."""
    return every * max(1.0, capacity.training() / (os.cpu_count() or 1)) ** LOAD_POWER


def live(holder: Holder, body, *, key: str, every: float = REFRESH_SECONDS) -> None:
    """Run `body()` in a fragment that re-runs every `refresh_seconds(every)` (0.5 s on a server that is not crowded)
    while training (or just after a click) and not otherwise.

    When the run stops changing, one full rerun switches the polling off (and refreshes the rest of the page).
    """
    polling = holder.live()
    every = refresh_seconds(every)

    @st.fragment(run_every=every if polling else None, key=key)
    def _fragment():
        with st.container(key=f"live-{key}"):  # the class live.css uses to keep updates from animating
            body()
        if polling and not holder.live():
            st.rerun()

    _fragment()


def status_text(snap, starting: bool = False, run: int | None = None) -> tuple[str, str, str]:
    """(kind, icon, text) for a snapshot: kind is one of info / success / warning / error; `run` names the run, as
    the Train page's progress line does."""
    if snap is None:
        return "info", ":material/info:", "No run yet — press **Start** (or **Step**) in the sidebar."
    where = (f"run {run} · " if run is not None else "") + f"step {snap.step:,} / {snap.steps:,}"
    if snap.status in ("running", "idle") and snap.step == 0 and starting:
        return "info", ":material/hourglass_top:", (
            f"**starting** — {where}. Loading the fast training kernel takes a few seconds the first time (longer on "
            "a machine's very first run, which compiles it).")
    if snap.status == "running":
        return "info", ":material/play_circle:", f"**running** — {where} · {snap.steps_per_s:,.0f} steps/s"
    if snap.status == "paused":
        return "warning", ":material/pause_circle:", f"**paused** — {where}. **Resume**, **Step**, or **Stop**."
    if snap.status == "idle":
        return "info", ":material/radio_button_unchecked:", f"**ready** — {where}. Press **Start**."
    if snap.status == "finished":
        ev = snap.last_eval
        tail = f" · dev loss {ev.dev:.4f}" if ev else ""
        return "success", ":material/check_circle:", f"**finished** — {where}{tail}"
    if snap.status == "stopped":
        return "warning", ":material/stop_circle:", f"**stopped** — {where}. **Start** begins a new run."
    if snap.status == "diverged":  # the trainer's message may start with the status itself: not twice
        return "error", ":material/warning:", f"**diverged** — {snap.message.removeprefix('diverged: ')}"
    return "error", ":material/error:", f"**error** — {(snap.message or 'training failed').removeprefix('error: ')}"


def show_status(snap, starting: bool = False, run: int | None = None) -> None:
    kind, icon, text = status_text(snap, starting, run)
    getattr(st, kind)(text, icon=icon)  # an icon given: else Streamlit loads its emoji table (~0.4 s) to look for one
