"""Load on one app server, for tests/test_browser_load.py and bench/bench_load.py: browser sessions pressing Start,
the server process's RSS and thread count (Linux /proc), and the latency of its health endpoint."""
from __future__ import annotations

import statistics
import time
import urllib.request
from pathlib import Path

from browser import wait_app_ready, wait_until

BUSY = "The server is busy"


def proc_status(pid: int) -> dict[str, float]:
    """{"rss_mb", "threads"} of a process, from /proc/<pid>/status (VmRSS, Threads)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            out["rss_mb"] = int(line.split()[1]) / 1024
        elif line.startswith("Threads:"):
            out["threads"] = int(line.split()[1])
    return out


def health_ms(url: str, n: int = 40, every: float = 0.1) -> list[float]:
    """n timed GETs of the server's /_stcore/health (a new connection each, as a load balancer's probe)."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url + "/_stcore/health", timeout=30) as r:
            r.read()
        times.append((time.perf_counter() - t0) * 1e3)
        time.sleep(every)
    return times


def summary(ms: list[float]) -> dict[str, float]:
    s = sorted(ms)
    return {"median": round(statistics.median(s), 1), "p95": round(s[min(len(s) - 1, int(0.95 * len(s)))], 1),
            "max": round(s[-1], 1), "n": len(s)}


def open_sessions(browser, url: str, n: int) -> list:
    """n browser contexts (separate sessions, as n students' tabs), each with the app loaded: [(context, page)]."""
    out = []
    for _ in range(n):
        ctx = browser.new_context(viewport={"width": 1280, "height": 720})
        page = ctx.new_page()
        page.goto(url)
        out.append((ctx, page))
    for _, page in out:
        wait_app_ready(page)
    return out


def press_start(sessions) -> None:
    """Every session clicks Start, one right after the other (within a second or two)."""
    for _, page in sessions:
        page.get_by_role("button", name="Start", exact=True).click()


def outcome(page, timeout: float = 60) -> str:
    """"running" or "busy" once the page says which (the status line — "running", or "starting" while the kernel
    loads — or the busy warning), else "unknown"."""
    said = {}

    def look():
        if page.get_by_text(BUSY).count():
            said["v"] = "busy"
        elif any(page.locator("[data-testid='stSidebar']").get_by_text(w).count() for w in ("running", "starting")):
            said["v"] = "running"
        return "v" in said

    wait_until(look, timeout)
    return said.get("v", "unknown")


def close_all(sessions) -> None:
    for ctx, _ in sessions:
        ctx.close()


def settle(pid: int, threads_at_most: int, timeout: float = 15) -> dict[str, float]:
    """Wait (≤ timeout s) until the server has at most `threads_at_most` threads; its status then."""
    wait_until(lambda: proc_status(pid)["threads"] <= threads_at_most, timeout, every=0.5)
    return proc_status(pid)
