"""MLP LM Explorer — a live instrument for makemore part 2's character MLP: the script each browser session runs.

    streamlit run explorer/app.py     (app.py serves this script, with the libraries loaded as the server starts)

Page config, the shared sidebar (settings + run controls, persistent across pages), and st.navigation over the pages
in explorer/app_pages/. The sidebar's settings and the page are kept in the URL's query string (explorer/links.py):
read once when a session starts, written back after every run, so a link shares them. Logic lives in explorer/*.py;
training runs in the mlp_lm Trainer's own daemon thread, held per browser session by explorer.session.get_holder().
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

import plotly.io  # noqa: E402

from explorer import links, memory, server_start, session, sidebar  # noqa: E402
from mlp_lm import engines  # noqa: E402


@st.cache_resource(show_spinner=False)
def _compile_the_kernel_in_the_background() -> None:
    """Once per server: on a machine's first run the fused kernel compiles in a low-priority process of its own while
    the first page loads and the teacher reads it; a run started before it is ready trains on the reference engine
    and switches over (mlp_lm/engines.py). Served by app.py, the server's start-up has already begun it (then this
    finds it running)."""
    engines.start_warmup()
    memory.tune_malloc()  # what sessions free goes back to the system (explorer/memory.py)


_compile_the_kernel_in_the_background()

# Streamlit styles every chart itself (theme="streamlit"): plotly's own default template would only add ~3 kB of
# JSON to every figure and time to every figure built.
plotly.io.templates.default = "none"
# The trainer thread gives up the GIL inside its kernel and must win it back a few times per chunk; while this
# server renders in Python it would wait up to the default 5 ms switch interval each time (a GIL convoy that cut
# training to a tenth of its headless speed). 0.5 ms lets it back in promptly.
sys.setswitchinterval(0.0005)

st.html(Path(__file__).with_name("live.css"))  # style only: takes no room on the page
PAGES = {  # URL key → page; "train" is the default page (the root URL)
    "train": st.Page("app_pages/train.py", title="Train", icon=":material/show_chart:", default=True),
    "forward": st.Page("app_pages/forward.py", title="Forward pass", icon=":material/account_tree:",
                       url_path="forward"),
    "sweep": st.Page("app_pages/sweep.py", title="LR sweep", icon=":material/troubleshoot:", url_path="sweep"),
    "embeddings": st.Page("app_pages/embeddings.py", title="Embeddings", icon=":material/scatter_plot:",
                          url_path="embeddings"),
    "sampler": st.Page("app_pages/sampler.py", title="Sampler", icon=":material/casino:", url_path="sampler"),
    "runs": st.Page("app_pages/runs.py", title="Runs", icon=":material/stacks:", url_path="runs"),
    "data": st.Page("app_pages/data.py", title="Data", icon=":material/description:", url_path="data"),
    "grid": st.Page("app_pages/grid.py", title="Hyperparameter search", icon=":material/grid_view:", url_path="grid"),
}
ss = st.session_state
if "link_restored" not in ss:  # a session's first run: the link's settings, before the widgets get their defaults
    link = links.parse(st.query_params.to_dict(), pages=PAGES)
    ss["link_restored"], ss["link_note"] = link.page, link.note()
    if link.preset is not None:
        ss["preset"] = link.preset
    ss.update(link.values)
session.init_widget_state()
holder = session.get_holder()

current = st.navigation(list(PAGES.values()))
here = next((k for k, p in PAGES.items() if p.url_path == current.url_path), "train")
wanted = ss.pop("link_restored", None)
ss["link_restored"] = None  # read once per session
if wanted and wanted != here:  # a link naming another page than its path (e.g. /?page=runs)
    st.switch_page(PAGES[wanted], query_params=st.query_params.to_dict())
if ss.get("link_note"):
    st.warning(session.md_literal(ss.pop("link_note")), icon=":material/link_off:")
status_box = sidebar.draw(holder)
current.run()
sidebar.draw_status(holder, status_box)  # after the page: see sidebar.draw_status
query = links.encode(session.values(), ss["preset"], page=here)
if query != st.query_params.to_dict():  # the URL always holds the settings in use: copy it to share them
    st.query_params.from_dict(query)
torch = sys.modules.get("torch")  # not imported here: the first page needs none of it (explorer/server_start.py)
if torch is not None and torch.get_num_threads() != 1:  # once a page or the start-up has loaded it
    torch.set_num_threads(1)  # tiny matmuls: one thread is faster, and leaves the other core to the trainer/server
server_start.page_drawn()  # the start-up may load torch now
