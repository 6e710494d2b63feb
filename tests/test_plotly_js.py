"""explorer/plotly_js.py: the live charts' plotly.js, compressed once and cached by the browser for a year, served by
the server explorer/app.py makes (its route), the component route's URL otherwise."""
import gzip
import urllib.request

import plotly

from browser import Server
from explorer import plotly_js


def test_it_is_compressed_once_and_decompresses_to_the_file():
    first = plotly_js.gzipped()
    assert plotly_js.gzipped() is first  # computed once per server
    assert gzip.decompress(first) == plotly_js.FILE.read_bytes()
    assert len(first) < plotly_js.FILE.stat().st_size / 3


def test_the_url_names_plotlys_version_once_the_route_is_mounted():
    assert plotly.__version__ in plotly_js.ROUTE
    route = plotly_js.route()
    assert route.path == plotly_js.ROUTE
    assert plotly_js.url("./component/x.js") == "." + plotly_js.ROUTE


def _get(url: str, encoding: str | None):
    req = urllib.request.Request(url, headers={"Accept-Encoding": encoding} if encoding else {})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.headers, r.read()


def test_the_app_server_sends_it_encoded_and_immutable(tmp_path):
    srv = Server(tmp_path / "streamlit.log", env={"MLP_LM_RUNS_DIR": str(tmp_path / "runs")})
    try:
        srv.wait_healthy()
        raw = plotly_js.FILE.read_bytes()
        headers, body = _get(srv.url + plotly_js.ROUTE, "gzip, deflate, br")
        assert headers["Content-Encoding"] == "gzip"  # not compressed again by Streamlit's gzip middleware
        assert "immutable" in headers["Cache-Control"] and "max-age=31536000" in headers["Cache-Control"]
        assert headers["Content-Type"].startswith("text/javascript")
        assert gzip.decompress(body) == raw
        headers, body = _get(srv.url + plotly_js.ROUTE, None)  # a client that takes no gzip gets the file
        assert headers.get("Content-Encoding") is None and body == raw
    finally:
        srv.terminate()
