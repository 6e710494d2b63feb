"""Real browser, one server, several sessions: three tabs (browser contexts) press Start within seconds and train
while the server's health endpoint stays responsive (p95 under a generous 1 s — on a shared 2-core machine, with the
browser on the same cores, it read 0.5 s; the figures are in
bench/bench_load.py); once the tabs close, the server's threads fall back to within a few of what they were; and
three rounds of sessions training and closing leave the idle server's RSS within 20 % of its RSS after the first
round (the issue's bound: what a session held is given back)."""
import os
import time

import pytest

from browser import CHROMIUM, Server, wait_until
from server_load import close_all, health_ms, open_sessions, outcome, press_start, proc_status, settle, summary

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)")
SESSIONS = 3
# The server's pools keep some idle threads after serving several sessions at once (12 idle → 19–20 after 3 sessions
# here, the training threads gone), so "the threads end" is checked against the peak: every session's trainer thread
# goes (at least SESSIONS fewer), the sessions' release is logged, and rounds after that add none (checked below).


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"MLP_LM_RUNS_DIR": str(tmp_path_factory.mktemp("load_runs")),  # the server's own empty store
           "MLP_LM_MAX_RUNS_PER_SERVER": str(SESSIONS)}  # all three train, whatever the machine's cores
    srv = Server(tmp_path_factory.mktemp("server_load") / "streamlit.log", env=env)
    srv.wait_healthy()
    yield srv
    if srv.proc.poll() is None:
        srv.terminate()


def our_tracebacks(log: str) -> list[str]:
    """The tracebacks in a server log that pass through this project's code. (Streamlit 1.67's starlette websocket
    endpoint sometimes logs one of its own when a tab closes mid-message — `receive_bytes` raising RuntimeError on a
    closing socket, re-raised as "WebSocket text frames are not supported" — which is not the app's.)"""
    blocks = log.split("Traceback (most recent call last):")[1:]
    return [b[:2000] for b in blocks if "/explorer/" in b or "/mlp_lm/" in b]


def train_and_close(browser, srv) -> list[str]:
    """SESSIONS tabs press Start; returns what each page said ("running" / "busy"); the tabs are closed after."""
    sessions = open_sessions(browser, srv.url, SESSIONS)
    try:
        press_start(sessions)
        return [outcome(page) for _, page in sessions]
    finally:
        time.sleep(3)  # let them train a little
        close_all(sessions)


def test_sessions_train_while_the_server_answers_and_their_threads_end(browser, server):
    pid = server.proc.pid
    close_all(open_sessions(browser, server.url, 1))  # warm-up: imports, the kernel, the first script run
    before = settle(pid, 0, timeout=5)
    sessions = open_sessions(browser, server.url, SESSIONS)
    press_start(sessions)
    assert [outcome(page) for _, page in sessions] == ["running"] * SESSIONS
    load = summary(health_ms(server.url, 40))
    training = proc_status(pid)["threads"]
    close_all(sessions)
    after = settle(pid, training - SESSIONS, timeout=15)
    print(f"health while {SESSIONS} runs train: {load}; threads {before['threads']} → {training} → {after['threads']}")
    assert load["p95"] < 1000, load
    assert training > before["threads"], "the runs should have had threads of their own"
    assert after["threads"] <= training - SESSIONS, (before, training, after)
    assert wait_until(lambda: server.log().count("session ended: stopped its trainer") >= SESSIONS + 1, 15)
    assert our_tracebacks(server.log()) == []


def test_rounds_of_sessions_leave_the_idle_server_within_20_percent_of_its_rss(browser, server):
    pid = server.proc.pid
    rss, threads = [], []
    for _ in range(3):
        assert train_and_close(browser, server) == ["running"] * SESSIONS
        # the trainers end, the memory is given back; later rounds: until the threads are back to round 1's (a
        # closed tab's threads can take a few more seconds on a loaded machine; ones that accumulate never are)
        closed = time.monotonic()
        settle(pid, threads[0] + 2 if threads else 0, timeout=8 if not threads else 20)
        time.sleep(max(0.0, 8 - (time.monotonic() - closed)))  # as long after the close as round 1, at least
        idle = proc_status(pid)
        rss.append(idle["rss_mb"])
        threads.append(idle["threads"])
    print(f"idle RSS after each round: {[round(r) for r in rss]} MB; threads {threads}")
    assert rss[-1] <= 1.2 * rss[0], rss
    # Nothing accumulates from round to round: a thread left behind by each session would add SESSIONS a round. The
    # server's pools (asyncio's executor, anyio's workers, pruned only on their next use) idle at a count that varies
    # by a few with how the sessions overlapped (19, 19, 22 on a clean-clone CI run), so the bound is one per session.
    assert threads[-1] - threads[0] < SESSIONS * (len(threads) - 1), threads
