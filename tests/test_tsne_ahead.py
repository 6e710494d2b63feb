"""explorer/tsne_ahead.py: t-SNE layouts made ahead for the perplexity slider, checked against sklearn directly."""
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from explorer import projections, tsne_ahead  # noqa: E402


@pytest.fixture
def C():
    return np.random.default_rng(3).normal(size=(12, 4))


def wait_ready(C, p, seed, timeout=30.0):  # the kept future once done
    end = time.time() + timeout
    while time.time() < end:
        fut = tsne_ahead._ready(tsne_ahead._key(C, p, seed))
        if fut is not None and fut.done():
            return fut
        time.sleep(0.01)
    raise TimeoutError


def test_a_layout_is_sklearns_and_is_kept(C):
    xy = tsne_ahead.layout(C, 4, 0)
    assert np.array_equal(xy, projections.tsne(C, 4, 0))  # the oracle: sklearn, same seed
    assert tsne_ahead.layout(C.copy(), 4, 0) is xy  # kept by content, not by object
    assert not np.array_equal(tsne_ahead.layout(C, 5, 0), xy)


def test_showing_a_perplexity_lays_out_its_neighbours_ahead(C):
    state = {}
    tsne_ahead.view(state, C, 5, 1, training=False, lo=2, hi=10)
    for p in (4, 6):
        fut = wait_ready(C, p, 1)
        assert np.array_equal(fut.result(), projections.tsne(C, p, 1))
    assert tsne_ahead._ready(tsne_ahead._key(C, 7, 1)) is None  # only the slider's next steps
    assert tsne_ahead.neighbours(2, 2, 10) == [3.0] and tsne_ahead.neighbours(10, 2, 10) == [9.0]


def test_the_worker_runs_at_the_script_threads_priority():
    """The script thread may wait for the worker's layout: a lower priority starved it on a busy machine."""
    def nice():
        return __import__("os").getpriority(0, threading.get_native_id())
    assert tsne_ahead._POOL.submit(nice).result() == nice()


def test_while_training_the_shown_layout_stays_until_the_newest_is_ready(C, monkeypatch):
    state = {}
    first = tsne_ahead.view(state, C, 5, 2, training=True, lo=2, hi=10)
    C2 = C + 0.5  # the run moved on
    assert tsne_ahead.view(state, C2, 5, 2, training=True, lo=2, hi=10) is first  # within TSNE_LIVE_SECONDS
    monkeypatch.setattr(tsne_ahead, "TSNE_LIVE_SECONDS", 0.0)
    tsne_ahead.view(state, C2, 5, 2, training=True, lo=2, hi=10)  # asks the worker for C2's layout
    assert state.get("tsne_pending") is not None
    wait_ready(C2, 5, 2)
    xy = tsne_ahead.view(state, C2, 5, 2, training=True, lo=2, hi=10)
    assert np.array_equal(xy, projections.tsne(C2, 5, 2))
    assert np.array_equal(state["tsne_last"][4], C2)


def test_a_new_perplexity_while_training_shows_the_layout_made_ahead(C):
    state = {}
    tsne_ahead.view(state, C, 5, 3, training=True, lo=2, hi=10)
    wait_ready(C, 6, 3)
    xy = tsne_ahead.view(state, C + 1.0, 6, 3, training=True, lo=2, hi=10)  # the live C has moved on meanwhile
    assert np.array_equal(xy, projections.tsne(C, 6, 3))  # the C on screen, at the new perplexity: no wait
    assert state["tsne_last"][0] == 6.0
    # not training: always the C given
    xy = tsne_ahead.view(state, C + 1.0, 6, 3, training=False, lo=2, hi=10)
    assert np.array_equal(xy, projections.tsne(C + 1.0, 6, 3))


def test_a_failed_layout_raises_in_the_script_thread(C, monkeypatch):
    state = {}
    tsne_ahead.view(state, C * 5.0, 3, 9, training=True, lo=2, hi=10)
    real = projections.tsne

    def boom(*a):
        raise ValueError("no layout")
    monkeypatch.setattr(projections, "tsne", boom)
    with pytest.raises(ValueError, match="no layout"):
        tsne_ahead.layout(C * 7.0, 4, 0)
    tsne_ahead.ahead(C * 5.0, [8], 9)  # a layout made ahead fails in the worker …
    time.sleep(0.5)
    assert tsne_ahead._ready(tsne_ahead._key(C * 5.0, 8, 9)) is None  # … and is not kept
    monkeypatch.setattr(projections, "tsne", real)
    xy = tsne_ahead.view(state, C * 6.0, 8, 9, training=True, lo=2, hi=10)  # so the page lays it out now: the C
    assert np.array_equal(xy, real(C * 5.0, 8, 9))                        # on screen, at the new perplexity


def test_a_layout_left_on_screen_long_ago_is_not_kept(C, monkeypatch):
    """Back on the t-SNE view after a while (the page was left, the run trained on): the live C is laid out at once,
    not the old picture; a failed request for the newest C is asked again rather than waited on for ever."""
    state = {}
    old = tsne_ahead.view(state, C, 5, 4, training=True, lo=2, hi=10)
    p, s, shape, when, c, xy = state["tsne_last"]
    state["tsne_last"] = (p, s, shape, when - 2 * tsne_ahead.STALE_SECONDS, c, xy)  # shown long ago
    moved = np.random.default_rng(8).normal(size=C.shape)  # the run trained on
    new = tsne_ahead.view(state, moved, 5, 4, training=True, lo=2, hi=10)
    assert not np.array_equal(new, old) and np.array_equal(new, projections.tsne(moved, 5, 4))
    from concurrent.futures import Future
    failed = Future()
    failed.set_exception(ValueError("x"))
    state["tsne_pending"] = (5.0, 4, time.monotonic(), C + 3.0, failed)
    p, s, shape, when, c, xy = state["tsne_last"]
    state["tsne_last"] = (p, s, shape, when - tsne_ahead.TSNE_LIVE_SECONDS, c, xy)  # due for the newest C
    tsne_ahead.view(state, C + 3.0, 5, 4, training=True, lo=2, hi=10)
    assert state["tsne_pending"][4] is not failed  # asked again
