"""MLP LM Explorer — a live instrument for makemore part 2's character MLP.

    streamlit run explorer/app.py

The entry script: page config, the shared sidebar (settings + run controls, persistent across pages), and
st.navigation over the pages in explorer/app_pages/. Logic lives in explorer/*.py; training runs in the
mlp_lm Trainer's own daemon thread, held per browser session by explorer.session.get_holder().
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository root: makes `mlp_lm` and `explorer` importable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

# The favicon is a file: a ":material/…:" page icon makes the browser fetch it from fonts.gstatic.com.
st.set_page_config(page_title="MLP LM Explorer", page_icon=str(Path(__file__).with_name("favicon.png")), layout="wide",
                   initial_sidebar_state="expanded")

import torch  # noqa: E402

from explorer import session, sidebar  # noqa: E402

torch.set_num_threads(1)  # tiny matmuls: one thread is faster, and leaves the other core to the trainer/server
# The trainer thread gives up the GIL inside its kernel and must win it back a few times per chunk; while this
# server renders in Python it would wait up to the default 5 ms switch interval each time (a GIL convoy that cut
# training to a tenth of its headless speed). 0.5 ms lets it back in promptly.
sys.setswitchinterval(0.0005)

st.html(Path(__file__).with_name("live.css"))  # style only: takes no room on the page
session.init_widget_state()
holder = session.get_holder()

pages = st.navigation([
    st.Page("app_pages/train.py", title="Train", icon=":material/show_chart:", default=True),
    st.Page("app_pages/forward.py", title="Forward pass", icon=":material/account_tree:"),
    st.Page("app_pages/sweep.py", title="LR sweep", icon=":material/troubleshoot:"),
    st.Page("app_pages/embeddings.py", title="Embeddings", icon=":material/scatter_plot:"),
    st.Page("app_pages/sampler.py", title="Sampler", icon=":material/casino:"),
    st.Page("app_pages/data.py", title="Data", icon=":material/description:"),
])
status_box = sidebar.draw(holder)
pages.run()
sidebar.draw_status(holder, status_box)  # after the page: see sidebar.draw_status
