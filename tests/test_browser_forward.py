"""Real-browser checks of the inside-the-model views (issue 10): the Forward pass page draws its three live charts with
no exception box, the Train page's activation-health panel draws when opened, and the Embeddings page's timeline
plays in the browser (the slider moves with no rerun). Screenshots at 1280×720 go to artifacts/screenshots/.

Uses tests/browser.py's server and chromium helpers.
"""
import os

import pytest

from browser import CHROMIUM, SHOTS, exceptions, wait_app_ready, wait_until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)")


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def nav(page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav'] a", has_text=title).first.click()
    wait_app_ready(page)


def live_chart_points(page, key: str) -> int:
    """Traces the live chart `key` (explorer/live_chart.py, in its own iframe) has drawn."""
    return page.evaluate(f"""() => {{
        const f = document.querySelector('.st-key-{key} iframe');
        const gd = f && f.contentDocument ? f.contentDocument.querySelector('.js-plotly-plot') : null;
        return gd && gd._fullData ? gd._fullData.length : 0;
    }}""")


def timeline_slider(page) -> int:
    return page.evaluate("""() => {
        const gd = document.querySelector('.st-key-emb_timeline .js-plotly-plot');
        return gd && gd._fullLayout && gd._fullLayout.sliders ? gd._fullLayout.sliders[0].active : -1;
    }""")


def test_forward_pass_page_draws_every_stage(page):
    nav(page, "Forward pass")
    for key in ("fwd_embed", "fwd_layer", "fwd_output"):
        assert wait_until(lambda: live_chart_points(page, key) > 0, 30), f"the {key} chart never drew"
    assert not exceptions(page)
    assert page.get_by_text("Showing no run yet: a fresh init").count()
    shoot(page, "forward_top")
    page.get_by_text("3 · Logits").first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    shoot(page, "forward_output")


def test_health_panel_draws_when_opened(page):
    nav(page, "Train")
    page.get_by_text("Activation health (part 3)").first.click()
    wait_app_ready(page)
    assert wait_until(lambda: live_chart_points(page, "health_chart") > 0, 30), "the health chart never drew"
    assert not exceptions(page)
    page.locator(".st-key-health_chart").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    shoot(page, "train_health")


def test_the_embedding_timeline_plays_in_the_browser(page):
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.locator("[data-testid='stSelectbox']").filter(has_text="Preset").first.click()
    page.keyboard.type("2-D embeddings")
    page.keyboard.press("Enter")
    wait_app_ready(page)
    steps = page.get_by_label("Steps", exact=True).first
    steps.fill("10000")
    steps.press("Enter")
    wait_app_ready(page)
    page.get_by_role("button", name="Start", exact=True).first.click()
    assert wait_until(lambda: "finished" in sidebar.inner_text(), 120), "the run did not finish"
    nav(page, "Embeddings")
    page.get_by_text("The embedding timeline").first.click()
    wait_app_ready(page)
    assert wait_until(lambda: timeline_slider(page) == 0, 30), "the timeline figure never drew"
    page.locator(".st-key-emb_timeline").scroll_into_view_if_needed()
    page.locator(".st-key-emb_timeline g.updatemenu-button").first.click()  # ▶ Play: plotly animates, no rerun
    assert wait_until(lambda: timeline_slider(page) > 0, 20), "Play did not move the slider"
    assert not exceptions(page)
    page.wait_for_timeout(800)
    shoot(page, "embeddings_timeline")
