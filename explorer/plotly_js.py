"""plotly.js for the live charts' iframes (explorer/live_chart.py), compressed once per server, not once per browser.

Streamlit's component file route sends the 4.8 MB `plotly.min.js` through the server's gzip middleware, which
compresses it again, at level 9, for every browser that loads it: ~1.2 s of a core on these 2-core machines each
time, so six tabs pressing Start cost the server ~7 s of CPU in their first seconds, and a class of 30 half a
minute. explorer/app.py mounts `route()` instead: the file is compressed
once (level 6: 1.47 MB, the same size as level 9 within 0.3 %, in ~0.45 s, which the server's start-up does ahead),
sent with `Content-Encoding: gzip` (the middleware passes an encoded body through), under a URL that names plotly's
version, to be cached by the browser for a year (`immutable`: no revalidation when a page draws a new chart).
`streamlit run explorer/main.py` serves the app without explorer/app.py: then `url()` gives the component route's.
No Streamlit calls here: the start-up thread and the server's worker threads call `gzipped()`.
"""
from __future__ import annotations

import gzip
import threading
from functools import lru_cache
from pathlib import Path

import plotly

FILE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
ROUTE = f"/mlp_lm/plotly-{plotly.__version__}.min.js"  # a new plotly version is a new URL: the year's cache is safe
CACHE = "public, max-age=31536000, immutable"
_mounted = threading.Event()  # set by route(): this server serves ROUTE
_lock = threading.Lock()


def url(fallback: str) -> str:
    """Where a chart's iframe loads plotly.js from, relative to the app's page: ROUTE, or `fallback` (the component
    route's URL) on a server that does not mount it."""
    return "." + ROUTE if _mounted.is_set() else fallback


@lru_cache(maxsize=1)
def _compressed() -> bytes:
    return gzip.compress(FILE.read_bytes(), compresslevel=6, mtime=0)


def gzipped() -> bytes:
    """plotly.min.js, gzip-compressed (computed once; callers that arrive meanwhile wait for that one)."""
    with _lock:
        return _compressed()


async def _endpoint(request):
    from anyio import to_thread
    from starlette.responses import FileResponse, Response

    headers = {"Cache-Control": CACHE, "Vary": "Accept-Encoding"}
    if "gzip" not in request.headers.get("accept-encoding", ""):
        return FileResponse(FILE, media_type="text/javascript", headers=headers)
    body = await to_thread.run_sync(gzipped)  # compressing would hold up the event loop
    return Response(body, media_type="text/javascript", headers={**headers, "Content-Encoding": "gzip"})


def route():
    """The Starlette route that serves plotly.js at ROUTE (for the App's routes); from now on url() names it."""
    from starlette.routing import Route

    _mounted.set()
    return Route(ROUTE, _endpoint, methods=["GET", "HEAD"])
