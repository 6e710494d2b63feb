"""Cold start as a teacher meets it: a server on a machine whose fused kernel has never been compiled.

Each round starts `streamlit run explorer/app.py` with an empty numba cache (NUMBA_CACHE_DIR pointing at a new
temporary folder: what a fresh clone on a new machine has), opens the app in headless Chromium and measures
    page    seconds from the server answering its health check to the first page being interactive
            (polled on every animation frame: the first run has finished and the sidebar's Start button is there)
    drawn   seconds from the server answering to the Train page fully drawn (its five metrics and two toggles: the
            browser loads each element's code when it first meets one, so "interactive" still shows placeholders)
    first   seconds from clicking Start (`--click-after` s after the page is ready) to the first steps on the page
            (the page's own clock, from the click's input event to the frame showing a Step above 0)
    speed   the run's steps/s over its first 10 s, and over the 10 s after that (the kernel compiled meanwhile)
`--warm` runs the same with the cache already filled (a machine's second start), for comparison.

    python bench/bench_cold_start.py [--rounds 3] [--click-after 1] [--warm] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from browser import CHROMIUM, CHROMIUM_ARGS, Server, metric_int  # noqa: E402
from bench_latency import INPUT_CLOCK, button, step_is, timed  # noqa: E402

# interactive: the script's first run has finished (no fixed pause: the moment it does, on an animation frame)
INTERACTIVE = """() => { const app = document.querySelector("[data-testid='stApp']");
    return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
        && Array.from(document.querySelectorAll("[data-testid='stSidebar'] button"),
                      b => b.innerText.trim()).some(t => t === 'Start' || t.endsWith('\\nStart')); }"""
DRAWN = """() => document.querySelectorAll("[data-testid='stMetricValue']").length >= 5
    && document.querySelectorAll("[data-testid='stCheckbox']").length >= 2"""


def one_round(browser, click_after: float, cache: str) -> dict:
    os.environ["NUMBA_CACHE_DIR"] = cache
    with tempfile.TemporaryDirectory() as tmp:
        srv = Server(Path(tmp) / "cold.log")
        try:
            srv.wait_healthy()
            t_up = time.perf_counter()
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.add_init_script(INPUT_CLOCK)
            page.goto(srv.url)
            page.wait_for_function(INTERACTIVE, polling="raf", timeout=120_000)
            t_page = time.perf_counter() - t_up
            page.wait_for_function(DRAWN, polling="raf", timeout=120_000)
            t_drawn = time.perf_counter() - t_up
            page.wait_for_timeout(max(0, int((click_after - (t_drawn - t_page)) * 1000)))  # from interactive
            t_first = timed(page, button(page, "Start"), step_is(">"), 0)  # the page's clock: click → frame drawn
            s0 = metric_int(page, "Step")
            time.sleep(10)
            s1 = metric_int(page, "Step")
            time.sleep(10)
            s2 = metric_int(page, "Step")
            page.close()
        finally:
            srv.terminate()
    return {"page_s": round(t_page, 2), "drawn_s": round(t_drawn, 2), "first_steps_s": round(t_first, 2),
            "steps_per_s_first_10s": round((s1 - s0) / 10), "steps_per_s_next_10s": round((s2 - s1) / 10)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="server starts to measure (default 3)")
    ap.add_argument("--click-after", type=float, default=1.0, help="seconds between page ready and Start (default 1)")
    ap.add_argument("--warm", action="store_true", help="fill the cache once first: a machine's second start")
    ap.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as warm_cache:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        if args.warm:  # compile once into the shared cache
            import subprocess

            subprocess.run([sys.executable, "-c", "from mlp_lm.fast import warmup; warmup()"], cwd=ROOT, check=True,
                           env={**os.environ, "NUMBA_CACHE_DIR": warm_cache, "PYTHONPATH": str(ROOT)})
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as cold_cache:
                rows.append(one_round(browser, args.click_after, warm_cache if args.warm else cold_cache))
            print(rows[-1], file=sys.stderr)
        browser.close()
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(f"{'cache':<6} {'page ready':>11} {'drawn':>7} {'first steps':>12} {'steps/s 0-10 s':>15} {'10-20 s':>9}")
    print(f"{'warm' if args.warm else 'empty':<6} {med['page_s']:>10.2f}s {med['drawn_s']:>6.2f}s {med['first_steps_s']:>11.2f}s "
          f"{med['steps_per_s_first_10s']:>15,.0f} {med['steps_per_s_next_10s']:>9,.0f}   (medians of {len(rows)})")
    if args.json:
        print(json.dumps({"cache": "warm" if args.warm else "empty", "rounds": rows, "median": med}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
