"""MLP LM Explorer's server: `streamlit run explorer/app.py` serves explorer/main.py, the script each session runs.

Streamlit runs a script only when a browser session opens, so the first page used to pay for importing torch and
the core (~1.5–2 s of the ~3 s before it was interactive), and the fused kernel's compile began only then. As an
`st.App`, the server gets a lifespan: explorer/server_start.py starts the kernel's warm-up and imports the first
page's modules as the server starts, and torch and the rest of the core once that page is drawn (the first page needs
no torch); a route (explorer/plotly_js.py) serves the live charts' plotly.js compressed once, not once per browser. `streamlit run explorer/main.py` serves the same app without either.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository root: makes `mlp_lm` and `explorer` importable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from explorer import plotly_js  # noqa: E402
from explorer.server_start import lifespan  # noqa: E402

app = st.App("main.py", lifespan=lifespan, routes=[plotly_js.route()])
