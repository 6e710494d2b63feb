"""The server's head start (the lifespan explorer/app.py gives its Streamlit App): as the server starts, one background
thread imports what a session's first script run needs — torch, the core, the pages' modules — reads the default
names and builds their dataset (explorer/shared_data.py: every session then shares them), starts the kernel's
warm-up (mlp_lm/engines.py) and compresses the live charts' plotly.js (explorer/plotly_js.py), while the server
already answers; once the warm-up has the kernel in numba's
cache, the thread loads it into the server too (numba, llvmlite and the kernel's code, ~0.5 s and ~120 MB), so the
first Start trains on it at once and the memory a run needs is taken as the server starts, not by its first session;
the log says when that is done ("start-up done in …"). Not pandas (nor scikit-learn, which imports it): plotly
looks pandas up in sys.modules without importing it, so a script run that met it half-imported by this thread
failed ("partially initialized module 'pandas' has no attribute 'Series'"); the Runs and Embeddings pages import them on
their first visit, in the script thread.
A session that opens meanwhile waits only for the part of that import still running (Python's import lock), never
for a second one. No Streamlit calls here: this thread is not a script thread."""
import sys
import threading
import time
from contextlib import asynccontextmanager

from explorer import script_starts


def preload() -> None:
    """What the script's first run would import, the kernel's warm-up (a low-priority process of its own), then the
    kernel itself."""
    t0 = time.perf_counter()
    import PIL.Image  # noqa: F401  (the favicon: the page config reads it)
    import plotly.io  # noqa: F401
    import torch  # noqa: F401

    from explorer import holder, links, memory, plotly_js, session, settings, shared_data, sidebar  # noqa: F401
    from mlp_lm import engines
    from mlp_lm.errors import MLPLMError

    warm_up = engines.start_warmup()
    try:
        shared_data.warm(settings.default_values()["block_size"])  # what the first page's sidebar and metrics read
    except MLPLMError:
        pass  # a damaged default names file: the first page says what is wrong
    plotly_js.gzipped()  # what the first chart's iframe will ask for (~0.45 s, mostly off the GIL)
    if warm_up.wait() == 0:  # the kernel is in the cache (compiled now, or there already)
        from mlp_lm.fast import warmup as load_kernel
        load_kernel()  # loaded from the cache into this process
    sys.stderr.write(f"MLP LM Explorer: start-up done in {time.perf_counter() - t0:.1f} s "
                     "(torch, the core, the default data, the kernel)\n")


@asynccontextmanager
async def lifespan(app):
    script_starts.install()  # a rerun's script thread no longer holds up the event loop as it starts
    threading.Thread(target=preload, name="mlp_lm-preload", daemon=True).start()
    yield
