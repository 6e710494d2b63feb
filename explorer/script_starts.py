"""Starting a rerun's script thread without holding up the server's event loop.

Streamlit starts a new `ScriptRunner.scriptThread` for every rerun that finds no script running (with the live views
refreshing every 0.5 s: a few per second per tab), and it starts it from the server's event loop thread, where
`threading.Thread.start()` waits until the new thread has been scheduled. On a machine whose cores are busy (6 tabs
training on 2 cores: 9-19 runnable tasks) that wait was 100-480 ms, and the whole server (every session's websocket,
the health check) waited with it: health p95 140 ms in bench/bench_load.py.

`install()` makes `ScriptRunner.start` hand the new thread to one long-lived starter thread instead, so the event
loop goes on at once; the script thread starts as soon as the starter is scheduled, which is when it would have
started anyway. The runner's `_script_thread` is set before `start` returns, as Streamlit's own code expects.
Installed by the server's start-up (explorer/server_start.py), for the served app only (AppTest is untouched); a
Streamlit whose ScriptRunner does not look like 1.67's is left alone. No Streamlit calls here: the starter is not a
script thread.
"""
from __future__ import annotations

import logging
import queue
import threading

_LOG = logging.getLogger(__name__)
_jobs: "queue.SimpleQueue[threading.Thread]" = queue.SimpleQueue()
_starter: threading.Thread | None = None
_lock = threading.Lock()


def _start_them() -> None:
    while True:
        t = _jobs.get()
        try:
            t.start()  # waits here, in this thread, until `t` has been scheduled
        except Exception:  # e.g. "can't start new thread": that session's rerun never runs, the others go on
            _LOG.exception("could not start a script thread")


def start_soon(t: threading.Thread) -> None:
    """Have the starter thread call `t.start()`; returns without waiting for `t` to be scheduled."""
    global _starter
    with _lock:
        if _starter is None or not _starter.is_alive():
            _starter = threading.Thread(target=_start_them, name="mlp_lm-script-starter", daemon=True)
            _starter.start()
    _jobs.put(t)


def _start(self) -> None:
    """ScriptRunner.start, as Streamlit 1.67 writes it, but the thread is started by the starter thread."""
    if self._script_thread is not None:
        raise RuntimeError("ScriptRunner was already started")
    self._script_thread = threading.Thread(target=self._run_script_thread, name="ScriptRunner.scriptThread",
                                           daemon=True)
    start_soon(self._script_thread)


def install() -> bool:
    """Patch ScriptRunner.start (once); False, changing nothing, if ScriptRunner is not what this was written for."""
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    if getattr(ScriptRunner.start, "_mlp_lm", False):
        return True
    names = ScriptRunner.start.__code__.co_names
    if not (hasattr(ScriptRunner, "_run_script_thread") and "Thread" in names and "_script_thread" in names):
        return False
    _start._mlp_lm = True
    ScriptRunner.start = _start
    return True
