"""Real browser: two short runs trained in the app, then the Runs page overlays them — two curves, one per run,
named by what differs (their seed). A screenshot lands in artifacts/screenshots/runs.png."""
import os

import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, click_button, exceptions, wait_app_ready, wait_until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)")

# the overlay chart's plotly div, inside the live chart's iframe (explorer/live_chart.py); a JS expression
RUNS_CHART = ("(() => { const f = document.querySelector('.st-key-runs_chart iframe');"
              " return f && f.contentDocument ? f.contentDocument.querySelector('.js-plotly-plot') : null; })()")


def curves(page) -> list[tuple[str, int]]:
    """(name, points) of every line trace the overlay chart has drawn."""
    return [tuple(x) for x in page.evaluate(f"""() => {{
        const gd = {RUNS_CHART};
        if (!gd || !gd._fullData) return [];
        return gd._fullData.filter(t => t.mode === 'lines').map(t => [t.name, t.x ? t.x.length : 0]);
    }}""")]


def set_number(page, label, value):
    box = page.get_by_label(label, exact=True).first
    box.fill(str(value))
    box.press("Enter")
    wait_app_ready(page)


def train_short_run(page, store, seed):
    set_number(page, "Seed", seed)
    click_button(page, "Start")
    done = lambda: [r.train["seed"] for r in store.list()[0] if r.status == "finished"]  # noqa: E731
    assert wait_until(lambda: seed in done(), 90), "the run never finished"
    wait_app_ready(page)


def test_train_two_runs_then_overlay_them(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(server.url)
        wait_app_ready(page)
        set_number(page, "Steps", 400)
        train_short_run(page, server.store, 1)
        train_short_run(page, server.store, 2)

        page.get_by_role("link", name="Runs").click()
        wait_app_ready(page)
        assert exceptions(page) == []
        tags = page.locator("[data-testid='stMultiSelect'] [data-tag]")
        assert wait_until(lambda: tags.count() == 2, 30), "both runs should be compared to start with"
        for _ in range(2):  # un-compare both: the chart goes
            page.locator("[data-testid='stMultiSelect'] button[aria-label^='Remove']").first.click()
            wait_app_ready(page)
        assert page.get_by_text("Tick compare for runs").count() == 1 and curves(page) == []

        box = page.locator("[data-testid='stMultiSelect'] input").first
        for _ in range(2):  # and compare them again, one by one from the list
            box.click()
            page.get_by_role("option").first.click()
            page.keyboard.press("Escape")
            wait_app_ready(page)
        assert wait_until(lambda: len(curves(page)) == 2, 30), curves(page)
        drawn = curves(page)
        assert sorted(name for name, _ in drawn) == ["seed=1", "seed=2"]
        assert all(n > 10 for _, n in drawn)
        assert exceptions(page) == []
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "runs.png"), full_page=True)
        browser.close()
