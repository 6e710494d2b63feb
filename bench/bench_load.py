"""Load on one server: N browser sessions pressing Start within seconds, as a classroom does.

Starts the app (`streamlit run explorer/app.py`), opens one warm-up tab that trains for 3 s and closes it (what
a first session's run creates once: Streamlit's session machinery), then opens N sessions (separate
browser contexts of headless Chromium) and presses Start in each. It prints the health endpoint's latency
(`/_stcore/health`, median / p95 / max of `--polls` GETs) before the load, while the runs train and after the tabs
close; the server's RSS once its start-up (explorer/server_start.py) is done, and its RSS and thread count before,
at their peak and after (15 s after the tabs close, /proc); and how many sessions were told the server is busy (the limit is `MLP_LM_MAX_RUNS_PER_SERVER`, default 2 per core;
`--limit` sets it for this server).

`--browser-nice N` starts Chromium at OS priority N (Linux `nice`): in a classroom the students' browsers run on
their own machines, not on the server's cores, and a niced browser stands in for that (it still uses every cycle the
server leaves); 0 (the default) puts six browsers on an equal footing with the server.

    python bench/bench_load.py [--sessions 6] [--polls 40] [--limit N] [--browser-nice N] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from browser import CHROMIUM, CHROMIUM_ARGS, Server  # noqa: E402
from server_load import (close_all, health_ms, open_sessions, outcome, press_start, proc_status,  # noqa: E402
                         settle, summary)


class Peak(threading.Thread):
    """Samples the server's RSS and threads every 0.2 s until stopped; keeps the maxima."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.rss, self.threads, self.done = pid, 0.0, 0, threading.Event()

    def run(self):
        while not self.done.wait(0.2):
            s = proc_status(self.pid)
            self.rss, self.threads = max(self.rss, s["rss_mb"]), max(self.threads, s["threads"])


def preloading(srv) -> bool:
    """Whether the server's start-up (explorer/server_start.py: torch, the core, the kernel) is still under
    way: its log says when it is done."""
    return "start-up done" not in srv.log()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=6)
    ap.add_argument("--polls", type=int, default=40)
    ap.add_argument("--limit", type=int, default=None, help="MLP_LM_MAX_RUNS_PER_SERVER for this server")
    ap.add_argument("--browser-nice", type=int, default=0,
                    help="OS priority of the browsers (0: as the server; 10: as if they were on other machines)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="bench_load_"))
    env = {"MLP_LM_RUNS_DIR": str(tmp / "runs")}
    if args.limit is not None:
        env["MLP_LM_MAX_RUNS_PER_SERVER"] = str(args.limit)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        srv = Server(tmp / "streamlit.log")
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    out: dict = {"sessions": args.sessions, "cpus": os.cpu_count(), "browser_nice": args.browser_nice,
                 "limit": args.limit or int(os.environ.get("MLP_LM_MAX_RUNS_PER_SERVER", 0)) or 2 * os.cpu_count()}
    try:
        srv.wait_healthy()
        pid = srv.proc.pid
        with sync_playwright() as p:
            exe = CHROMIUM
            if args.browser_nice:
                exe = tmp / "chromium-niced"
                exe.write_text(f'#!/bin/sh\nexec nice -n {int(args.browser_nice)} "{CHROMIUM}" "$@"\n')
                exe.chmod(0o755)
            browser = p.chromium.launch(executable_path=str(exe), headless=True, args=CHROMIUM_ARGS)
            t0 = time.perf_counter()
            while preloading(srv) and time.perf_counter() - t0 < 120:
                time.sleep(0.2)
            out["start_up_s"] = round(time.perf_counter() - t0, 1)
            out["rss_fresh_mb"] = round(proc_status(pid)["rss_mb"])  # the server started, before any page
            warm = open_sessions(browser, srv.url, 1)  # warm-up: the first script run and run
            press_start(warm)
            time.sleep(3)
            close_all(warm)
            time.sleep(5)
            before = proc_status(pid)
            out["health_before_ms"] = summary(health_ms(srv.url, args.polls))
            peak = Peak(pid)
            peak.start()
            sessions = open_sessions(browser, srv.url, args.sessions)
            t0 = time.perf_counter()
            press_start(sessions)
            out["start_clicks_s"] = round(time.perf_counter() - t0, 2)
            said = [outcome(page) for _, page in sessions]
            out["running"], out["refused_busy"] = said.count("running"), said.count("busy")
            out["health_while_ms"] = summary(health_ms(srv.url, args.polls))
            during = proc_status(pid)
            close_all(sessions)
            t1 = time.perf_counter()
            after = settle(pid, before["threads"] + 3, timeout=15)
            out["threads_settled_s"] = round(time.perf_counter() - t1, 1)
            peak.done.set()
            peak.join()
            out["health_after_ms"] = summary(health_ms(srv.url, args.polls))
            time.sleep(max(0.0, 15 - (time.perf_counter() - t1)))
            after = proc_status(pid)
            browser.close()
        out["rss_mb"] = {"before": round(before["rss_mb"]), "while": round(during["rss_mb"]),
                         "peak": round(max(peak.rss, during["rss_mb"])), "after": round(after["rss_mb"])}
        out["threads"] = {"before": before["threads"], "while": during["threads"],
                          "peak": max(peak.threads, during["threads"]), "after": after["threads"]}
    finally:
        if srv.proc.poll() is None:
            srv.terminate()
    if args.json:
        print(json.dumps(out))
    else:
        for k, v in out.items():
            print(f"{k:>18}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
