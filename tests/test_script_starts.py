"""explorer/script_starts.py: a rerun's script thread is started by the starter thread, so the caller (Streamlit's
event loop) never waits for it to be scheduled."""
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.runtime.scriptrunner.script_runner import ScriptRunner  # noqa: E402

from explorer import script_starts  # noqa: E402


class FakeRunner:
    """What the patched start touches on a ScriptRunner."""

    def __init__(self):
        self._script_thread = None
        self.ran = threading.Event()

    def _run_script_thread(self):
        self.ran.set()


def test_start_returns_before_the_thread_is_started_and_the_starter_starts_it():
    gate = threading.Event()
    blocker = threading.Thread(target=lambda: None)
    blocker.start = gate.wait  # the starter is busy with a thread that is slow to be scheduled
    script_starts.start_soon(blocker)
    runner = FakeRunner()
    script_starts._start(runner)  # what ScriptRunner.start now runs, in the event loop's place
    t = runner._script_thread
    assert t is not None and t.name == "ScriptRunner.scriptThread" and t.daemon
    assert t.ident is None and not runner.ran.is_set()  # returned without starting it: nothing waited here
    gate.set()
    assert runner.ran.wait(10) and t.ident is not None


def test_a_runner_is_started_once():
    runner = FakeRunner()
    script_starts._start(runner)
    assert runner.ran.wait(10)
    try:
        script_starts._start(runner)
    except RuntimeError as e:
        assert "already started" in str(e)
    else:
        raise AssertionError("a second start was accepted")


def test_install_patches_streamlits_script_runner_once(monkeypatch):
    monkeypatch.setattr(ScriptRunner, "start", ScriptRunner.start)  # restored after the test (AppTest joins at once)
    assert script_starts.install()
    assert ScriptRunner.start is script_starts._start
    assert script_starts.install() and ScriptRunner.start is script_starts._start


def test_an_unexpected_script_runner_is_left_alone(monkeypatch):
    def start(self):  # a future Streamlit's start that does something else
        self.go()

    monkeypatch.setattr(ScriptRunner, "start", start)
    assert not script_starts.install()
    assert ScriptRunner.start is start
