"""Click-to-result latency in a real browser while a lecture run trains: the figures a class feels.

Starts the app (`streamlit run explorer/app.py`), opens it in headless Chromium (Debian's, through Playwright),
starts a long lecture-recipe run, then drives each control many times and times it from the click until the page
shows its result (a condition checked by the browser on every animation frame):

    pause / resume / step / reset      the sidebar's run controls (status text, Step metric)
    log10                              the Train page's log10 toggle (the loss chart's y-axis title)
    page switch                        a sidebar link (the new page's title)
    generate / next character          the Sampler's buttons (the new names' caption, the name so far)
    t-SNE perplexity                   the Embeddings page's slider, one step (the chart's title)

Each control is timed twice: "felt" runs on the page's own clock, from the input event (the click's or the key's
`performance.now()`, caught in the capture phase) to the animation frame on which the result is first drawn — what a
person at the screen waits; "round trip" is the Python side's wall clock around Playwright's click and its wait,
which adds the tool's own actionability checks and messaging (≈ 40–120 ms here) to the same wait.
Prints the median and 95th percentile per control (`--json`: one JSON object on the last line). `--busy N` keeps N
extra processes spinning on the CPU during the measurement, for the "busy machine" figures.

    python bench/bench_latency.py [--rounds 12] [--busy 0] [--json]
"""
from __future__ import annotations

import argparse
import json
import re
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM, CHROMIUM_ARGS, Server, metric_int, wait_app_ready  # noqa: E402

STATUS = "[data-testid='stSidebar'] [data-testid='stAlert']"
TIMEOUT_MS = 20_000


def spin() -> None:
    while True:
        pass


# the page's clock at the latest input event (capture phase: before any handler of the app's own)
INPUT_CLOCK = ("for (const t of ['click', 'keydown']) document.addEventListener(t, "
               "() => { window.__inputAt = performance.now(); }, true);")
ROUND_TRIP: dict[str, list[float]] = {}  # control → the Python side's wall-clock seconds, for comparison


def timed(page, action, predicate: str, arg=None, control: str = "") -> float:
    """Seconds from the input event until the JS `predicate` (a function returning bool) first holds on an animation
    frame, on the page's clock; the Python side's round trip is kept in ROUND_TRIP[control]."""
    page.evaluate("() => { window.__inputAt = null; window.__shownAt = null; }")
    felt = (f"(arg) => {{ const ok = ({predicate})(arg); if (ok && window.__inputAt !== null) "
            "window.__shownAt = performance.now(); return ok && window.__inputAt !== null; }")
    t0 = time.perf_counter()
    action()
    page.wait_for_function(felt, arg=arg, polling="raf", timeout=TIMEOUT_MS)
    ROUND_TRIP.setdefault(control, []).append(time.perf_counter() - t0)
    return page.evaluate("() => window.__shownAt - window.__inputAt") / 1000


def button(page, name):
    return lambda: page.get_by_role("button", name=name, exact=True).first.click()


def status_has(word: str) -> str:
    return f"() => {{ const e = document.querySelector(\"{STATUS}\"); return !!e && e.innerText.toLowerCase().includes('{word}'); }}"


STEP_METRIC = """() => { for (const m of document.querySelectorAll("[data-testid='stMetric']")) {
    const l = m.querySelector("[data-testid='stMetricLabel']"); if (l && l.innerText.trim() === 'Step')
    return parseInt(m.querySelector("[data-testid='stMetricValue']").innerText.replace(/,/g, '')); } return -1; }"""


def step_is(cmp: str) -> str:
    return f"(x) => {{ const v = ({STEP_METRIC})(); return v >= 0 && v {cmp} x; }}"


def title_is() -> str:
    return "(t) => { const h = document.querySelector('h1'); return !!h && h.innerText.includes(t); }"


Y_TITLE = """(want) => { const f = document.querySelector('.st-key-loss_chart iframe');
    const d = f && f.contentDocument; const t = d && d.querySelector('.ytitle');
    return !!t && t.textContent.trim() === want; }"""


def _find(selector: str, contains: str) -> str:
    """JS expression: innerText of the first element matching `selector` whose text includes `contains`, or null —
    in the page or in a chart's same-origin iframe (explorer/live_chart.py draws its charts in one)."""
    return (f"(() => {{ const docs = [document, ...Array.from(document.querySelectorAll('iframe'), "
            "f => { try { return f.contentDocument; } catch (e) { return null; } }).filter(d => d)]; "
            f"for (const d of docs) for (const e of d.querySelectorAll(\"{selector}\")) "
            f"{{ const t = e.innerText ?? e.textContent; if (t.includes({json.dumps(contains)})) return t; }} "
            "return null; })()")


TITLE_HAS = f"(want) => {{ const t = {_find('.gtitle', '')}; return t !== null && t.includes(want); }}"


def text_changes(selector: str, contains: str = "") -> str:
    return f"(before) => {{ const t = {_find(selector, contains)}; return t !== null && t !== before; }}"


def inner(page, selector: str, contains: str = "") -> str | None:
    return page.evaluate(f"() => {_find(selector, contains)}")


def goto_page(page, name: str) -> None:
    page.get_by_role("link", name=name).first.click()
    page.wait_for_function(title_is(), arg=name, polling="raf", timeout=TIMEOUT_MS)
    wait_app_ready(page)


def measure(page, rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in ("pause", "resume", "step", "reset", "log10", "page switch",
                                                   "generate", "next character", "t-SNE perplexity")}
    titles = {"Train": "Train", "LR sweep": "Learning-rate sweep", "Embeddings": "Embeddings", "Sampler": "Sampler"}
    for r in range(rounds):
        goto_page(page, "Train")
        out["pause"].append(timed(page, button(page, "Pause"), status_has("paused"), control="pause"))
        page.wait_for_timeout(700)  # past one live refresh: the page's Step metric has caught up with the pause
        held = metric_int(page, "Step")
        out["step"].append(timed(page, button(page, "Step"), step_is(">"), held, control="step"))
        out["resume"].append(timed(page, button(page, "Resume"), status_has("running"), control="resume"))
        want = "loss" if r % 2 == 0 else "log10(loss)"
        toggle = page.get_by_text("log10(loss), as in the lecture").first
        out["log10"].append(timed(page, toggle.click, Y_TITLE, want, control="log10"))
        if r % 3 == 2:  # a Reset now and then (then train again)
            out["reset"].append(timed(page, button(page, "Reset"), step_is("=="), 0, control="reset"))
            button(page, "Start")()
            page.wait_for_function(step_is(">"), arg=0, polling="raf", timeout=TIMEOUT_MS)
        for name in ("LR sweep", "Embeddings", "Sampler", "Train"):
            link = page.get_by_role("link", name=name).first
            out["page switch"].append(timed(page, link.click, title_is(), titles[name], control="page switch"))
            wait_app_ready(page)
        goto_page(page, "Sampler")
        caption = "[data-testid='stCaptionContainer']"
        before = inner(page, caption, "From run") or ""
        out["generate"].append(timed(page, button(page, "Generate"), text_changes(caption, "From run"), before, control="generate"))
        page.get_by_role("tab", name="Step by step").first.click()
        page.get_by_role("button", name="Next character", exact=True).first.wait_for()  # only the open tab is drawn
        wait_app_ready(page)
        for _ in range(2):
            shown = "[data-testid='stMain'] h3"
            before = inner(page, shown) or ""
            out["next character"].append(timed(page, button(page, "Next character"), text_changes(shown), before, control="next character"))
            if "done" in (inner(page, shown) or ""):
                button(page, "Start over")()
                wait_app_ready(page)
        goto_page(page, "Embeddings")
        page.get_by_text("t-SNE", exact=True).first.click()
        wait_app_ready(page)
        thumb = page.get_by_role("slider", name="Perplexity (< number of characters)").first  # (the sidebar's come first)
        thumb.focus()
        shown = int(re.search(r"perplexity (\d+)", inner(page, ".gtitle", "perplexity") or "perplexity 5").group(1))
        key, want = ("ArrowRight", shown + 1) if r % 2 == 0 else ("ArrowLeft", shown - 1)
        out["t-SNE perplexity"].append(timed(page, lambda: thumb.press(key), TITLE_HAS, f"perplexity {want} ",
                                             control="t-SNE perplexity"))
        wait_app_ready(page)
    return out


def summary(samples: dict[str, list[float]]) -> dict[str, dict]:
    res = {}
    for k, v in samples.items():
        if not v:
            continue
        s = sorted(v)
        p95 = s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]
        res[k] = {"median_ms": round(1000 * statistics.median(s), 1), "p95_ms": round(1000 * p95, 1), "n": len(s)}
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=12, help="times each control is measured (default 12)")
    ap.add_argument("--busy", type=int, default=0, help="extra processes spinning on the CPU (default 0)")
    ap.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    hogs = [multiprocessing.Process(target=spin, daemon=True) for _ in range(args.busy)]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        srv = Server(Path(tmp) / "latency.log")
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            srv.wait_healthy()
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.add_init_script(INPUT_CLOCK)
            page.goto(srv.url)
            wait_app_ready(page)
            steps = page.get_by_label("Steps", exact=True)
            steps.fill("5000000")
            steps.press("Enter")
            wait_app_ready(page)
            button(page, "Start")()
            page.wait_for_function(step_is(">"), arg=0, polling="raf", timeout=60_000)
            page.wait_for_timeout(3000)  # plotly.js loaded, the kernel warm
            for h in hogs:
                h.start()
            samples = measure(page, args.rounds)
        finally:
            for h in hogs:
                h.terminate()
            browser.close()
            srv.terminate()
    res, trip = summary(samples), summary(ROUND_TRIP)
    print(f"{'control':<18} {'felt median':>12} {'p95':>7}   {'round trip median':>18} {'p95':>7}   n"
          f"    (busy processes: {args.busy})")
    for k, v in res.items():
        t = trip[k]
        print(f"{k:<18} {v['median_ms']:>10.0f}ms {v['p95_ms']:>5.0f}ms   {t['median_ms']:>16.0f}ms {t['p95_ms']:>5.0f}ms"
              f" {v['n']:>3}")
    if args.json:
        print(json.dumps({"busy": args.busy, "rounds": args.rounds, "controls": res, "round_trip": trip}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
