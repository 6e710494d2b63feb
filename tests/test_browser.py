"""Real-browser tests: the app served on 127.0.0.1, driven through Debian's chromium with Playwright.

Start → the Step metric rises and the loss chart gains points; every page renders without an exception box
(screenshots land in artifacts/screenshots/); two sessions train in isolation; closing a tab stops its trainer;
the server exits promptly on SIGTERM mid-run.
"""
import os
import re
import time

import pytest

from browser import CHROMIUM, LOSS_CHART, SHOTS, Server, exceptions, metric, metric_int, wait_app_ready, wait_until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)")
PAGES = ["Train", "LR sweep", "Embeddings", "Sampler", "Data"]
ACTIONS = {"LR sweep": "Run sweep", "Sampler": "Generate"}


def open_app(browser, server, path=""):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.outside = []  # every request that leaves the app's server: there must be none (no run-time downloads)
    page.on("request", lambda r: None if r.url.startswith((server.url, "data:", "blob:")) else page.outside.append(r.url))
    page.goto(server.url + "/" + path)
    wait_app_ready(page)
    return page


def click(page, name):
    page.get_by_role("button", name=name, exact=True).first.click()


def set_number(page, label, value):
    box = page.get_by_label(label, exact=True).first
    box.fill(str(value))
    box.press("Enter")
    wait_app_ready(page)


def loss_chart_end(page) -> tuple[int, float]:
    """(points, last step drawn) of the loss chart's first trace, read from the live plotly div."""
    return tuple(page.evaluate(f"""() => {{
        // the loss chart by its key (the schedule chart below it also plots steps), inside its iframe; _fullData: as drawn
        const gd = {LOSS_CHART};
        if (!gd || !gd._fullData || !gd._fullData.length || !gd._fullData[0].x) return [0, -1];
        const x = gd._fullData[0].x;
        return [x.length, x.length ? x[x.length - 1] : -1];
    }}"""))


def test_start_watch_and_visit_every_page(browser, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = open_app(browser, server)
    assert exceptions(page) == []
    assert metric_int(page, "Step") == 0
    click(page, "Start")
    assert wait_until(lambda: metric_int(page, "Step") > 0, 30), "the Step metric never rose"
    first_step, (_, first_end) = metric_int(page, "Step"), loss_chart_end(page)
    assert wait_until(lambda: metric_int(page, "Step") > first_step and loss_chart_end(page)[1] > first_end, 30), \
        "the Step metric or the loss chart stopped updating"
    assert loss_chart_end(page)[0] > 1, "the loss chart has no points"
    src = page.evaluate("() => document.querySelector('.st-key-loss_chart iframe').contentDocument"
                        ".querySelector('script[src*=\"plotly\"]').src")
    assert "/mlp_lm/plotly-" in src, src  # the app's own route (explorer/plotly_js.py), compressed once per server
    # the chart updates in place (Plotly.react on one div), so a zoom or hover survives each refresh
    page.evaluate(f"() => {{ {LOSS_CHART}.__mark = 1; }}")
    drawn = loss_chart_end(page)[1]
    assert wait_until(lambda: loss_chart_end(page)[1] > drawn, 30), "the loss chart stopped updating"
    assert page.evaluate(f"() => {LOSS_CHART}.__mark === 1"), \
        "the loss chart was rebuilt instead of updated"
    # live views update without animating (explorer/live.css): sampled over a few refreshes, nothing is mid-animation
    animating = page.evaluate("""async () => {
        const seen = new Set();
        for (let i = 0; i < 20; i++) {
            for (const a of document.getAnimations()) {
                const t = a.effect && a.effect.target;
                if (a.playState === 'running' && t && t.closest && t.closest('[class*="st-key-live-"]'))
                    seen.add((a.transitionProperty || a.animationName) + ' on ' + (t.dataset.testid || t.className));
            }
            await new Promise(r => setTimeout(r, 100));
        }
        return [...seen];
    }""")
    assert animating == [], f"the live view animates on every refresh: {animating}"
    page.screenshot(path=str(SHOTS / "train.png"))
    for name in PAGES:
        page.get_by_role("link", name=name).first.click()
        wait_app_ready(page)
        if name in ACTIONS:  # use the page as a person would: run the sweep, draw names
            click(page, ACTIONS[name])
            wait_app_ready(page)
            page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        page.wait_for_timeout(1500)  # let charts draw
        assert exceptions(page) == [], f"exception on page {name}"
        page.screenshot(path=str(SHOTS / f"{name.lower().replace(' ', '_')}.png"))
    click(page, "Stop")
    wait_app_ready(page)
    assert page.outside == [], f"the page fetched from outside the app: {page.outside}"
    page.close()


def paused_at(page) -> int | None:
    """The step the sidebar says the run paused at, once the page's Step metric shows the same (the status and the
    page are two live views that agree within one refresh); None until both say so."""
    m = re.search(r"paused\W+(?:run \d+ · )?step ([\d,]+)", page.inner_text("[data-testid='stSidebar']"))
    step = int(m.group(1).replace(",", "")) if m else None
    return step if step is not None and metric_int(page, "Step") == step else None


def test_two_sessions_are_isolated_and_closing_a_tab_stops_its_run(browser, server):
    a = open_app(browser, server)
    b = open_app(browser, server)
    set_number(b, "Seed", 12345)
    click(a, "Start")
    click(b, "Start")
    assert wait_until(lambda: metric_int(a, "Step") > 500 and metric_int(b, "Step") > 500, 60)
    click(a, "Pause")
    assert wait_until(lambda: paused_at(a) is not None, 10), a.inner_text("[data-testid='stSidebar']")
    held = metric_int(a, "Step")
    b_before = metric_int(b, "Step")
    time.sleep(2)
    assert metric_int(a, "Step") == held, "pausing one session moved it on"
    assert metric_int(b, "Step") > b_before, "pausing one session paused the other"
    assert metric(a, "Train loss") != metric(b, "Train loss") or metric(a, "Step") != metric(b, "Step")
    click(a, "Resume")
    released = server.log().count("session ended")
    a.close()  # closing the tab ends the session: its trainer must stop within 5 s
    assert wait_until(lambda: server.log().count("session ended") > released, 5), server.log()[-2000:]
    b_step = metric_int(b, "Step")
    assert wait_until(lambda: metric_int(b, "Step") > b_step, 10), "the other session stopped too"
    b.close()
    assert wait_until(lambda: server.log().count("session ended") > released + 1, 5)
    c0, t0 = server.cpu_seconds(), time.perf_counter()
    time.sleep(2)
    assert (server.cpu_seconds() - c0) / (time.perf_counter() - t0) < 0.5, "the server still trains with no tab open"


def test_the_samplers_model_line_follows_the_training_run(browser, server):
    """The Sampler names the model it samples from; while the run trains, its step follows (it was drawn once)."""
    page = open_app(browser, server)
    set_number(page, "Steps", 20_000_000)  # still training when the page is read
    click(page, "Start")
    assert wait_until(lambda: metric_int(page, "Step") > 0, 30)
    page.get_by_role("link", name="Sampler").first.click()
    wait_app_ready(page)

    def model_step() -> int:
        m = re.search(r"Model: run \d+, step ([\d,]+) \(running\)", page.inner_text("[data-testid='stMain']"))
        return int(m.group(1).replace(",", "")) if m else -1

    first = model_step()
    assert first >= 0, page.inner_text("[data-testid='stMain']")[:500]
    assert wait_until(lambda: model_step() > first, 15), "the Sampler's model line stayed at its first step"
    click(page, "Stop")
    page.close()


def test_server_exits_promptly_on_sigterm_mid_run(browser, tmp_path):
    srv = Server(tmp_path / "streamlit.log")
    srv.wait_healthy()
    page = open_app(browser, srv)
    click(page, "Start")
    assert wait_until(lambda: metric_int(page, "Step") > 0, 30)
    seconds = srv.terminate(timeout=10)
    page.close()
    assert seconds < 5, f"the server took {seconds:.1f} s to exit on SIGTERM"
