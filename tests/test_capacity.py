"""The server-wide limit on runs training at once (explorer/capacity.py) and a session's memory budget
(explorer/memory.py), through AppTest sessions sharing one process as browser sessions share one server: with a
limit of 1, a second session's Start / Step / Resume is refused with the busy message and changes nothing, and
succeeds once the first run stops, pauses or its session ends; cached datasets stay within the byte budget, and
closing a session drops everything it held."""
import gc
import sys
import threading
import weakref
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app_helpers import click, new_app, poll, run, small, texts  # noqa: E402
from explorer import capacity, memory  # noqa: E402
from explorer.holder import OPEN_HOLDERS, Holder, Names  # noqa: E402

pytestmark = pytest.mark.usefixtures("warm_kernel", "released_sessions")
BUSY = "The server is busy: 1 run is training (the limit is 1); try again when one finishes."


@pytest.fixture
def limit_one(monkeypatch, tmp_path):
    """A limit of 1, and one session id per AppTest (AppTest gives every app the same one, so two would share the
    session-scoped holder: here each is a session of its own, as two browser tabs are)."""
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner

    init = LocalScriptRunner.__init__

    def own_session(self, script_path, session_state, *a, **kw):
        init(self, script_path, session_state, *a, **kw)
        self._session_id = f"test session {id(session_state)}"

    monkeypatch.setattr(LocalScriptRunner, "__init__", own_session)
    monkeypatch.setenv(capacity.ENV, "1")
    monkeypatch.setenv("MLP_LM_RUNS_DIR", str(tmp_path / "runs"))


def session():
    """A new app session and its holder."""
    before = set(OPEN_HOLDERS)
    at = new_app()
    (h,) = set(OPEN_HOLDERS) - before
    return small(at, steps=5_000_000, hidden=32), h


def test_the_limit_and_its_setting(monkeypatch):
    monkeypatch.delenv(capacity.ENV, raising=False)
    import os
    assert capacity.limit() == 2 * (os.cpu_count() or 1)
    for raw, want in (("3", 3), ("0", capacity.default_limit()), ("many", capacity.default_limit())):
        monkeypatch.setenv(capacity.ENV, raw)
        assert capacity.limit() == want
    assert str(capacity.ServerBusy(4, 4)) == ("The server is busy: 4 runs are training (the limit is 4); "
                                              "try again when one finishes.")


def test_a_second_session_is_refused_until_the_first_stops(limit_one):
    a, ha = session()
    b, hb = session()
    click(a, "btn_start")
    assert ha.trainer.training and capacity.training() == 1
    click(b, "btn_start")
    assert BUSY in texts(b), texts(b)
    assert [t.value for t in b.toast] == [BUSY]
    assert hb.trainer is None and hb.run_id == 0  # nothing else changed: no run was made
    click(b, "btn_step")  # Step asks for a slot too
    assert hb.trainer is None and BUSY in texts(b)
    click(a, "btn_stop")
    assert poll(a, lambda: not ha.trainer.alive)
    click(b, "btn_start")
    assert hb.trainer.training and BUSY not in texts(b)
    click(a, "btn_start")  # now the first session waits
    assert BUSY in texts(a) and ha.snapshot().status == "stopped"
    click(b, "btn_stop")


def test_a_paused_run_holds_no_slot_and_resume_asks_again(limit_one):
    a, ha = session()
    b, hb = session()
    click(a, "btn_start")
    click(a, "btn_pause")
    assert ha.snapshot().status == "paused" and not ha.trainer.training
    click(b, "btn_start")
    assert hb.trainer.training
    click(a, "btn_resume")
    assert BUSY in texts(a) and ha.snapshot().status == "paused"  # still paused: Resume changed nothing
    click(a, "btn_start")  # Start on a paused run resumes it: refused the same way
    assert ha.snapshot().status == "paused"
    click(b, "btn_pause")
    click(a, "btn_resume")
    assert ha.trainer.training and BUSY not in texts(a)
    click(a, "btn_stop")
    click(b, "btn_stop")


def test_a_closed_session_gives_its_slot_back_and_drops_what_it_held(limit_one):
    import streamlit as st

    a, ha = session()
    click(a, "btn_start")
    trainer = weakref.ref(ha.trainer)
    ds = weakref.ref(ha.trainer.dataset)
    st.cache_resource.clear()  # every session ends, as when the tabs close: on_release → Holder.close
    assert ha.closed and ha.trainer is None and ha.recorder is None and ha.datasets_bytes() == 0
    for t in threading.enumerate():
        if t.name == "mlp_lm-give-back":
            t.join(10)  # its gc.collect() running makes ours return at once
    gc.collect()
    assert trainer() is None and ds() is None, "the closed session's trainer or dataset is still referenced"
    b, hb = session()
    click(b, "btn_start")
    assert hb.trainer.training
    click(b, "btn_stop")


def test_step_releases_its_slot_when_its_steps_are_done(limit_one):
    a, ha = session()
    b, hb = session()
    a.session_state["step_n"] = 100
    click(a, "btn_step")
    assert poll(a, lambda: ha.snapshot().status == "paused" and ha.snapshot().step >= 100)
    assert not ha.trainer.training
    click(b, "btn_start")
    assert hb.trainer.training
    click(b, "btn_stop")
    run(a)


def test_cached_datasets_stay_within_the_byte_budget(monkeypatch, small_words):
    h = Holder()
    lists = [Names.make(small_words[k::5], f"part {k}") for k in range(5)]  # five lists of about the same size
    one = memory.dataset_bytes(h.dataset(3, lists[0]))
    monkeypatch.setenv(memory.ENV, str(2.5 * one / memory.MB))  # room for two of them
    try:
        for names in lists[1:]:
            h.dataset(3, names)
            assert h.datasets_bytes() <= memory.dataset_budget()
        kept = [f for f, _ in h._datasets]
        assert kept == [lists[3].fingerprint, lists[4].fingerprint]  # the least recently used went first
        h.dataset(3, lists[3])  # touched: now the most recent
        h.dataset(3, lists[0])
        assert [f for f, _ in h._datasets] == [lists[3].fingerprint, lists[0].fingerprint]
        monkeypatch.setenv(memory.ENV, str(100 * one / memory.MB))
        for names in lists:
            h.dataset(3, names)
        assert len(h._datasets) == 5  # a bigger budget keeps them all: it is bytes that count, not datasets
    finally:
        h.close(give_back=False)
    assert h.datasets_bytes() == 0


def test_the_run_dataset_is_never_evicted(monkeypatch):
    h = Holder()
    monkeypatch.setenv(memory.ENV, "0")  # nothing fits: only what is in use (and the one asked for) stays
    values = __import__("explorer.settings", fromlist=["default_values"]).default_values("lecture")
    t = h.new_trainer({**values, "block_size": 3})
    for b in (4, 5, 6):
        h.dataset(b)
        keys = [k for _, k in h._datasets]
        assert keys == [3, b], keys  # the run's dataset stays, the one just built stays, the rest go
    assert t.dataset is h.dataset(3)  # still the cached object: not rebuilt
    h.close(give_back=False)


def test_give_back_runs_where_glibc_has_malloc_trim():
    assert memory.give_back() == (sys.platform.startswith("linux") and memory._LIBC is not None)


def test_live_views_refresh_less_often_on_a_crowded_server(monkeypatch):
    """0.5 s while at most one run per core trains; (runs per core) ** LOAD_POWER times as long beyond that, so the
    tabs of a classroom leave the server's event loop time to answer (each fragment rerun starts a script thread)."""
    from explorer import session
    monkeypatch.setattr(session.os, "cpu_count", lambda: 2)
    for n, want in ((0, 0.5), (1, 0.5), (2, 0.5), (3, 0.5 * 1.5 ** session.LOAD_POWER), (4, 2.0)):
        monkeypatch.setattr(capacity, "training", lambda n=n: n)
        assert session.refresh_seconds() == pytest.approx(want), n
    assert session.refresh_seconds(1.0) == pytest.approx(4.0)
