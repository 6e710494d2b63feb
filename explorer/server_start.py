"""The server's head start (the lifespan explorer/app.py gives its Streamlit App): as the server starts, one background
thread imports what a session's first script run needs — torch, the core, the pages' modules — and starts the
kernel's warm-up (mlp_lm/engines.py), while the server already answers; once the warm-up has the kernel in numba's
cache, the thread loads it into the server too (numba, llvmlite and the kernel's code, ~0.5 s and ~120 MB), so the
first Start trains on it at once and the memory a run needs is taken as the server starts, not by its first session.
A session that opens meanwhile waits only for the part of that import still running (Python's import lock), never
for a second one. No Streamlit calls here: this thread is not a script thread."""
import threading
from contextlib import asynccontextmanager


def preload() -> None:
    """What the script's first run would import, the kernel's warm-up (a low-priority process of its own), then the
    kernel itself."""
    import plotly.io  # noqa: F401
    import torch  # noqa: F401

    from explorer import holder, links, memory, session, sidebar  # noqa: F401
    from mlp_lm import engines

    if engines.start_warmup().wait() == 0:  # the kernel is in the cache (compiled now, or there already)
        from mlp_lm.fast import warmup as load_kernel
        load_kernel()  # loaded from the cache into this process


@asynccontextmanager
async def lifespan(app):
    threading.Thread(target=preload, name="mlp_lm-preload", daemon=True).start()
    yield
