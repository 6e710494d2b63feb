"""The app's overhead and latencies, measured as a user meets them.

- Training speed with a browser on the Train page (charts refreshing at 2 Hz) against the headless Trainer, same
  recipe (the lecture's, but 5,000,000 steps long so no run ends inside its window), in interleaved rounds: steps
  gained over a fixed wall-clock window after a warm-up (in the app, a warm-up that starts once the loss chart is
  drawn: loading plotly.js, like loading the kernel, is once).
- Server start → first page interactive (health endpoint, app container, script idle), from spawning the process and
  from the server answering its health check.
- A 1,000-step LR sweep and a t-SNE of the 27 embeddings, in process.

    python bench/bench_app.py [--window 15] [--rounds 2] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from explorer.settings import eval_interval  # noqa: E402
from browser import CHROMIUM, CHROMIUM_ARGS, LOSS_CHART, Server, metric_int, wait_app_ready  # noqa: E402
from mlp_lm.config import TrainConfig  # noqa: E402
from mlp_lm.data import load_dataset  # noqa: E402
from mlp_lm.model import ModelConfig, init_params  # noqa: E402
from mlp_lm.trainer import Trainer  # noqa: E402

WARMUP = 4.0  # seconds of training before the window opens (kernel load, first chunks)
STEPS = 5_000_000  # the lecture's recipe, but long enough that no run ends inside its window (200,000 steps can)


def headless_rate(ds, window: float) -> float:
    cfg = TrainConfig(steps=STEPS, decay_step=100_000, eval_interval=eval_interval(STEPS, "auto"))  # as the app's run
    t = Trainer(ds, ModelConfig(), cfg)
    t.start()
    time.sleep(WARMUP)
    s0, t0 = t.snapshot().step, time.perf_counter()
    time.sleep(window)
    s1, t1 = t.snapshot().step, time.perf_counter()
    assert t.snapshot().status == "running", "the run ended inside the window"
    t.stop()
    return (s1 - s0) / (t1 - t0)


def app_rate(browser, window: float, tmp: Path) -> tuple[float, tuple[float, float]]:
    """(steps/s with the Train page open, (seconds from spawning the server to the first page being interactive,
    seconds from the server answering its health check to that))."""
    srv = Server(tmp / "bench_app.log")
    try:
        healthy = srv.wait_healthy()
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(srv.url)
        wait_app_ready(page)
        ready = (time.perf_counter() - srv.started, time.perf_counter() - srv.started - healthy)
        steps = page.get_by_label("Steps", exact=True)
        steps.fill(str(STEPS))
        steps.press("Enter")
        wait_app_ready(page)
        page.get_by_role("button", name="Start", exact=True).first.click()
        page.wait_for_function(f"() => !!{LOSS_CHART}", timeout=60_000)  # one-time: plotly.js starts with the chart
        time.sleep(WARMUP)
        s0, t0 = metric_int(page, "Step"), time.perf_counter()
        time.sleep(window)
        s1, t1 = metric_int(page, "Step"), time.perf_counter()
        assert s1 < STEPS, "the run ended inside the window"
        page.close()
        return (s1 - s0) / (t1 - t0), ready
    finally:
        srv.terminate()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--window", type=float, default=15.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import tempfile

    from playwright.sync_api import sync_playwright

    from explorer.projections import tsne
    from mlp_lm.sweep import lr_sweep

    ds = load_dataset(None, 3)
    mc = ModelConfig()
    params = init_params(mc)
    lr_sweep(params, ds, mc, num=50)  # load the kernel once
    t0 = time.perf_counter()
    lr_sweep(params, ds, mc, num=1000)
    sweep_s = time.perf_counter() - t0
    tsne(params["C"].numpy(), perplexity=5.0, seed=0)  # the first call also imports scikit-learn (~1.5 s, once)
    t0 = time.perf_counter()
    tsne(params["C"].numpy(), perplexity=5.0, seed=1)
    tsne_s = time.perf_counter() - t0

    headless, app, ready = [], [], []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for r in range(args.rounds):
            order = ("app", "headless") if r % 2 == 0 else ("headless", "app")
            for side in order:
                if side == "headless":
                    headless.append(headless_rate(ds, args.window))
                else:
                    rate, secs = app_rate(browser, args.window, Path(tmp))
                    app.append(rate)
                    ready.append(secs)
                print(f"round {r + 1} {side}: {(headless if side == 'headless' else app)[-1]:,.0f} steps/s", flush=True)
        browser.close()
    ratio = statistics.median(app) / statistics.median(headless)
    out = {"headless_steps_per_s": round(statistics.median(headless)), "app_steps_per_s": round(statistics.median(app)),
           "app_over_headless": round(ratio, 3), "first_page_interactive_s": round(min(r[0] for r in ready), 2),
           "first_page_after_server_up_s": round(min(r[1] for r in ready), 2),
           "sweep_1000_s": round(sweep_s, 3), "tsne_s": round(tsne_s, 3)}
    print(f"training with the Train page open: {out['app_steps_per_s']:,} steps/s vs headless "
          f"{out['headless_steps_per_s']:,} ({ratio:.1%}); first page interactive {out['first_page_interactive_s']} s "
          f"after spawning the server, {out['first_page_after_server_up_s']} s after it is up; "
          f"1,000-step sweep {sweep_s:.2f} s; t-SNE {tsne_s:.2f} s")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
