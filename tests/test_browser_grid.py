"""Real browser: the Hyperparameter search page runs a 2-trial search and shows both rows (screenshot in
artifacts/screenshots/grid.png). The server writes its runs into a temporary store."""
import os

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, Server, exceptions, wait_app_ready, wait_until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)")

ROWS = """() => [...document.querySelectorAll('[data-testid=stDataFrame] [role=row]')]
    .map(r => [...r.querySelectorAll('[role=gridcell],[role=columnheader]')].map(c => c.innerText.trim()))"""


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "streamlit.log", env={"MLP_LM_RUNS_DIR": str(tmp_path / "runs")})  # no run lands in runs/
    srv.wait_healthy()
    yield srv
    if srv.proc.poll() is None:
        srv.terminate()


def test_a_two_trial_search_shows_both_rows(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        outside = []
        page.on("request", lambda r: None if r.url.startswith((server.url, "data:", "blob:")) else outside.append(r.url))
        page.goto(server.url + "/grid")
        wait_app_ready(page)
        for label, value in (("hidden units", "16, 32"), ("steps", "500")):
            box = page.get_by_label(label, exact=True).first
            box.fill(value)
            box.press("Enter")
            wait_app_ready(page)
        assert "2 trials" in page.inner_text("body")
        page.get_by_role("button", name="Run", exact=True).first.click()
        assert wait_until(lambda: "finished · 2 of 2 trials" in page.inner_text("body"), 120), page.inner_text("body")
        assert wait_until(lambda: len(page.evaluate(ROWS)) == 3, 20), page.evaluate(ROWS)  # the header + two trials
        header, *rows = page.evaluate(ROWS)
        at = {name: header.index(name) for name in ("hidden units", "status", "dev loss")}
        assert sorted(r[at["hidden units"]] for r in rows) == ["16", "32"]
        assert [r[at["status"]] for r in rows] == ["finished", "finished"]
        devs = [float(r[at["dev loss"]]) for r in rows]
        assert devs == sorted(devs)  # best first
        page.wait_for_selector(".st-key-grid_parallel .js-plotly-plot", timeout=20_000)
        assert exceptions(page) == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("[data-testid=stDataFrame]").first.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / "grid.png"))
        assert outside == [], f"the page fetched from outside the app: {outside}"
        browser.close()
