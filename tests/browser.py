"""Helpers for the real-browser tests: a Streamlit server on a free loopback port, Debian's chromium via Playwright.

Waiting follows Streamlit's own e2e suite: the health endpoint, then the app container, then the script state.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"  # git-ignored
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run explorer/app.py` on 127.0.0.1:port, its log kept in a file; `env` is added to its environment."""

    def __init__(self, log_path: Path, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w")
        cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "explorer" / "app.py"), "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(self.port), "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        self.started = time.perf_counter()

    def wait_healthy(self, timeout: float = 60) -> float:
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log()}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=1) as r:
                    if r.read().strip() == b"ok":
                        return time.perf_counter() - self.started
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("the server never became healthy")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def terminate(self, timeout: float = 10) -> float:
        """SIGTERM; returns the seconds until the process exited (kills it after `timeout`)."""
        t0 = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return float("inf")
        finally:
            self._log.close()
        return time.perf_counter() - t0


# the live loss chart's plotly div, inside the chart's own iframe (explorer/live_chart.py); a JS expression
LOSS_CHART = ("(() => { const f = document.querySelector('.st-key-loss_chart iframe');"
              " return f && f.contentDocument ? f.contentDocument.querySelector('.js-plotly-plot') : null; })()")


def wait_app_ready(page, timeout_ms: int = 60_000) -> None:
    """The app container is up and the script has finished its run."""
    page.wait_for_selector("[data-testid='stAppViewContainer']", timeout=timeout_ms)
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)


def click_button(page, name: str, timeout_ms: int = 30_000) -> None:
    """Click the (first) button named `name`; if none can be clicked in time, fail with what the page showed instead
    (its script state, any exception, the sidebar's and the page's text, a screenshot in SHOTS), so a failure in CI
    says what the browser saw."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.get_by_role("button", name=name, exact=True).first.click(timeout=timeout_ms)
    except PlaywrightTimeout:
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"no_{name.lower()}_button.png"
        page.screenshot(path=str(shot))
        state = page.evaluate("() => document.querySelector(\"[data-testid='stApp']\")?.getAttribute("
                              "'data-test-script-state') ?? 'no app'")
        text = page.evaluate("() => document.body.innerText")
        raise AssertionError(f"no {name!r} button to click within {timeout_ms} ms; script state {state}; "
                             f"exceptions {exceptions(page)}; url {page.url}; screenshot {shot}; "
                             f"page text: {text[:1500]!r}") from None


def metric(page, label: str) -> str:
    """The shown value of the st.metric with this label."""
    m = page.locator("[data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=label))
    return m.locator("[data-testid='stMetricValue']").first.inner_text(timeout=10_000)


def metric_int(page, label: str) -> int:
    return int(metric(page, label).replace(",", "").split()[0] or 0)


def wait_until(pred, timeout: float = 30, every: float = 0.25) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(every)
    return False


def exceptions(page) -> list[str]:
    return page.locator("[data-testid='stException']").all_inner_texts()
