"""The server's head start (the lifespan explorer/app.py gives its Streamlit App), in one background thread.

1. At once, what needs no torch: the kernel's warm-up starts (a low-priority process of its own, mlp_lm/engines.py),
   the modules of the first page (the sidebar, the Train page) are imported and the default names read
   (explorer/shared_data.py: every session then shares them).
2. Once the first session's first page is drawn (`page_drawn`, called by main.py; then AFTER_FIRST_PAGE seconds
   more), or after FIRST_PAGE_WAIT seconds if no browser has come: torch and the rest of the core, the default
   dataset and its bigram baseline, the live charts' plotly.js compressed (explorer/plotly_js.py); then, once the
   warm-up has the kernel in numba's cache, the kernel itself (numba, llvmlite and its code, ~0.5 s and ~120 MB), so
   the first Start trains on it at once. The log says when that is done ("start-up done in …").
Why wait for the first page: importing torch takes ~1.5 s of CPU and holds the GIL, and the first page needs none of
it (the Train page's health line fills in once it is there: `core_loading`; a Start pressed meanwhile waits for the
rest of the import, well under a second). Done alongside, it made a fresh server's first page interactive ~1 s later
(3.0 s after the server was up instead of 2.0 s; bench/bench_cold_start.py).
Not pandas (nor scikit-learn, which imports it): plotly looks pandas up in sys.modules without importing it, so a
script run that met it half-imported by this thread failed ("partially initialized module 'pandas' has no attribute
'Series'"); the Runs and Embeddings pages import them on their first visit, in the script thread.
A session that needs a module meanwhile waits only for the part of its import still running (Python's import lock),
never for a second one. No Streamlit calls here: this thread is not a script thread.
"""
import sys
import threading
import time
from contextlib import asynccontextmanager

from explorer import script_starts

FIRST_PAGE_WAIT = 3.0  # seconds the start-up waits for a first page before it loads torch anyway
AFTER_FIRST_PAGE = 0.5  # and once it is drawn, seconds more while the browser fetches the code of the page's elements
                        # and draws them (fully drawn: 2.6 s after the server was up, 3.0 s without this pause)
_first_page = threading.Event()  # a session's script run has ended (main.py calls page_drawn)
_core_loaded = threading.Event()  # the start-up has imported torch and the core (or given up trying)
_started = threading.Event()  # the start-up thread runs in this process (only when served by explorer/app.py)


def page_drawn() -> None:
    """main.py, at the end of every script run: the start-up may load torch now."""
    _first_page.set()


def core_loading() -> bool:
    """True while the start-up thread has yet to import torch and the core (a page then says what will appear)."""
    return _started.is_set() and not _core_loaded.is_set()


def _load_core() -> None:
    """What the first Start (first: a teacher may press it meanwhile), the health panel and the other pages import."""
    import torch

    torch.set_num_threads(1)  # tiny matmuls: one thread is faster, and leaves the other core to the trainer/server
    from mlp_lm import trainer  # noqa: F401
    from mlp_lm import checkpoint, diagnostics  # noqa: F401
    from explorer import model_source  # noqa: F401


def preload() -> None:
    """Step 1, then step 2 (see the module's docstring)."""
    t0 = time.perf_counter()
    from mlp_lm import engines
    from mlp_lm.errors import MLPLMError

    warm_up = engines.start_warmup()
    try:
        import PIL.Image  # noqa: F401  (the favicon: the page config reads it)
        import plotly.io  # noqa: F401

        from explorer import (charts, health_panel, holder, links, memory, plotly_js, series,  # noqa: F401
                              session, settings, shared_data, sidebar)  # the sidebar's and the Train page's
        try:
            shared_data.default_names()
        except MLPLMError:
            pass  # a damaged default names file: the first page says what is wrong
        if _first_page.wait(FIRST_PAGE_WAIT):
            time.sleep(AFTER_FIRST_PAGE)
        _load_core()
    finally:
        _core_loaded.set()  # also if an import failed: the pages then import for themselves and say what is wrong
    try:
        shared_data.warm(settings.default_values()["block_size"])  # what the first Start would build
    except MLPLMError:
        pass
    plotly_js.gzipped()  # what the first chart's iframe will ask for (~0.45 s, mostly off the GIL)
    if warm_up.wait() == 0:  # the kernel is in the cache (compiled now, or there already)
        from mlp_lm.fast import warmup as load_kernel
        load_kernel()  # loaded from the cache into this process
    sys.stderr.write(f"MLP LM Explorer: start-up done in {time.perf_counter() - t0:.1f} s "
                     "(torch, the core, the default data, the kernel)\n")


@asynccontextmanager
async def lifespan(app):
    script_starts.install()  # a rerun's script thread no longer holds up the event loop as it starts
    _started.set()
    threading.Thread(target=preload, name="mlp_lm-preload", daemon=True).start()
    yield
