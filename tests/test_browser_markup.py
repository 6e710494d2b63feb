"""Real browser, issue 12 item 11: Markdown in a file name, in names and in typed text never makes the browser fetch
anything. A local listener records every request it gets; an upload named `![f](http://127.0.0.1:PORT/…) **b**
:red[r].txt` whose names carry images and markup, a short run, a typed name with an image in the Sampler's score box,
and a visit to every page must leave it with no request — and the page shows the markup as typed."""
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from browser import CHROMIUM, SHOTS, exceptions, free_port, wait_app_ready, wait_until

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian's chromium (apt-get install chromium)")
PAGES = ["Train", "Forward pass", "LR sweep", "Embeddings", "Sampler", "Runs", "Data", "Hyperparameter search"]


@pytest.fixture
def listener():
    """An HTTP server on loopback that records the path of every request."""
    seen: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Record)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.seen = seen
    yield httpd
    httpd.shutdown()


def test_markup_in_file_names_names_and_typed_text_fetches_nothing(browser, server, listener):
    url = f"http://127.0.0.1:{listener.server_address[1]}"
    file_name = f"![f]({url}/file-name) **b** :red[r].txt"
    names = [f"![n](http:/{n})" for n in ("a", "b")] + ["**bold**", ":red[red]", "$x$", "<b>x</b>", "emma", "olivia",
                                                         "ava", "isabella", "sophia", "mia", "charlotte", "amelia"]
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(server.url + "/data")
    wait_app_ready(page)
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(
        files=[{"name": file_name, "mimeType": "text/plain", "buffer": "\n".join(names).encode()}])
    page.wait_for_timeout(1500)
    wait_app_ready(page)
    assert listener.seen == [], f"the upload's name made the browser fetch {listener.seen}"
    assert wait_until(lambda: page.get_by_text("**b** :red[r].txt", exact=False).count() > 0, 30), \
        "the Data page should name the upload literally"
    assert exceptions(page) == []
    box = page.get_by_label("Steps", exact=True).first
    box.fill("300")
    box.press("Enter")
    wait_app_ready(page)
    page.get_by_role("button", name="Start", exact=True).click()
    assert wait_until(lambda: server.store.list()[0] and server.store.list()[0][0].status == "finished", 90)

    for name in PAGES:
        page.get_by_role("link", name=name).first.click()
        wait_app_ready(page)
        page.wait_for_timeout(500)
        assert exceptions(page) == [], name
    page.get_by_role("link", name="Sampler").first.click()
    wait_app_ready(page)
    page.get_by_role("tab", name="Score a name").click()
    wait_app_ready(page)
    typed = page.get_by_label("Type a name", exact=True)
    typed.fill(f"![t]({url}/typed) **b**")  # '.' in the address: refused, and the error box quotes it
    typed.press("Enter")
    wait_app_ready(page)
    assert page.get_by_text("**b**", exact=False).count() > 0
    page.wait_for_timeout(1000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "markup.png"))
    assert exceptions(page) == []
    port = listener.server_address[1]
    assert page.locator(f"img[src*='127.0.0.1:{port}']").count() == 0
    assert page.locator(f"a[href*='127.0.0.1:{port}']").count() == 0, "a typed address became a link"
    assert listener.seen == [], f"the browser fetched {listener.seen}"
    page.close()
