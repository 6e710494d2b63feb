"""t-SNE layouts for the Embeddings page, the next ones computed ahead.

A layout of the 27 rows of C costs sklearn ~0.1 s (longer while a run trains beside it): the whole wait between a
step of the perplexity slider and the new picture. So once the page shows perplexity p, one worker
thread lays out the same C at the slider's neighbours (p − 1 and p + 1); the next step finds its layout ready, or
half done. While a run trains, a new perplexity is first shown for the C of the layout on screen (a few seconds old
at most: STALE_SECONDS); the newest C follows within TSNE_LIVE_SECONDS.

The worker sees only a NumPy copy of C (never a tensor in training) and calls no Streamlit API. Layouts are kept
server-wide by content (C's bytes, perplexity, seed), at most MAX_LAYOUTS of them (each ≤ 256 × 2 floats).
"""
from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from . import projections

TSNE_LIVE_SECONDS = 2.0  # while a run trains, the t-SNE view re-lays out the newest C at most this often
MAX_LAYOUTS = 64         # layouts kept server-wide (oldest dropped first)
STALE_SECONDS = 3 * TSNE_LIVE_SECONDS  # a layout on screen older than this (the page was left meanwhile) is not kept

_LOCK = threading.Lock()
_LAYOUTS: "OrderedDict[tuple, Future]" = OrderedDict()


# at the script thread's own priority, as the script may wait for its layout: at nice 10, beside the trainer and the
# browser, it was starved, and a slider step waited for it (t-SNE step 298 → 187 ms median quiet, 610 → 310 busy)
_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tsne-ahead")


def _key(C: np.ndarray, perplexity: float, seed: int) -> tuple:
    C = np.ascontiguousarray(C, dtype=np.float64)
    return hashlib.blake2b(C.tobytes(), digest_size=16).hexdigest(), C.shape, float(perplexity), int(seed)


def _keep(key: tuple, fut: Future) -> None:
    with _LOCK:
        _LAYOUTS[key] = fut
        _LAYOUTS.move_to_end(key)
        while len(_LAYOUTS) > MAX_LAYOUTS:
            _LAYOUTS.popitem(last=False)


def _ready(key: tuple) -> Future | None:
    with _LOCK:
        fut = _LAYOUTS.get(key)
    if fut is not None and (fut.cancelled() or (fut.done() and fut.exception() is not None)):
        return None  # a layout that failed is made again (and its error raised in the script thread)
    return fut


def layout(C: np.ndarray, perplexity: float, seed: int) -> np.ndarray:
    """projections.tsne(C, perplexity, seed): a layout made (or being made) ahead, else computed now."""
    key = _key(C, perplexity, seed)
    fut = _ready(key)
    if fut is not None and fut.cancel():  # still queued behind another layout: make it here, now
        fut = None
    if fut is None:
        fut = Future()
        fut.set_result(projections.tsne(C, perplexity, seed))  # an error is raised here, to the page
        _keep(key, fut)
    return fut.result()


def ahead(C: np.ndarray, perplexities, seed: int) -> None:
    """Queue layouts of C at these perplexities for the worker (those not kept or queued already)."""
    C = np.array(C, dtype=np.float64)  # the worker's own copy
    for p in perplexities:
        key = _key(C, p, seed)
        if _ready(key) is None:
            _keep(key, _POOL.submit(projections.tsne, C, float(p), int(seed)))


def neighbours(perplexity: float, lo: int, hi: int) -> list[float]:
    """The slider's next values either side of `perplexity`, within [lo, hi]."""
    return [float(p) for p in (perplexity - 1, perplexity + 1) if lo <= p <= hi]


def _done(fut: Future | None) -> bool:
    return fut is not None and fut.done() and not fut.cancelled() and fut.exception() is None


def view(state, C: np.ndarray, perplexity: float, seed: int, *, training: bool, lo: int, hi: int) -> np.ndarray:
    """The layout the Embeddings page shows. `state` is the session's st.session_state (any mutable mapping).

    While a run trains, the script thread does not lay out the live C on every 2 Hz refresh (~0.1 s each: t-SNE is a
    picture of clusters, not an animation): every TSNE_LIVE_SECONDS the worker lays out the newest C, and the layout
    on screen stays until that one is ready. A new perplexity is shown first for the C on screen, whose layout was
    made ahead (or waited for while the worker makes it: it is part done). Each layout shown queues the slider's
    neighbours of its C."""
    now, p, seed = time.monotonic(), float(perplexity), int(seed)
    last = state.get("tsne_last")  # (perplexity, seed, shape, when, C shown, layout)
    if training and last is not None and last[1:3] == (seed, np.shape(C)) and now - last[3] < STALE_SECONDS:
        pending = state.get("tsne_pending")  # (perplexity, seed, when asked, C, future): the newest C, laid out ahead
        if pending is not None and (pending[:2] != (p, seed) or now - pending[2] >= STALE_SECONDS
                                    or pending[4] is None or (pending[4].done() and not _done(pending[4]))):
            state.pop("tsne_pending")  # for another view, too old, or failed: asked again below
            pending = None
        if pending is not None and _done(pending[4]):
            state.pop("tsne_pending")
            return _show(state, p, seed, pending[2], pending[3], pending[4].result(), lo, hi)
        if last[0] == p:
            if now - last[3] >= TSNE_LIVE_SECONDS and pending is None:
                C = np.array(C, dtype=np.float64)
                ahead(C, [p], seed)
                state["tsne_pending"] = (p, seed, now, C, _ready(_key(C, p, seed)))
            return last[5]
        # a new perplexity for the C on screen: made ahead (or being made: waited for), else made now
        return _show(state, p, seed, last[3], last[4], layout(last[4], p, seed), lo, hi)
    return _show(state, p, seed, now, C, layout(C, p, seed), lo, hi)


def _show(state, p: float, seed: int, when: float, C: np.ndarray, xy: np.ndarray, lo: int, hi: int) -> np.ndarray:
    C = np.array(C, dtype=np.float64)
    state["tsne_last"] = (p, seed, C.shape, when, C, xy)
    ahead(C, neighbours(p, lo, hi), seed)
    return xy
