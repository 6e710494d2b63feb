"""A Plotly chart that updates in place: the live loss curve's element.

`st.plotly_chart` derives its element id from the figure, so every new point remounts the chart: plotly.js
rebuilds it from scratch (twice a second while training, about 0.4 of a CPU core in the browser, taken from the
trainer on a 2-core machine) and a zoom or hover is lost each time. This element keeps one chart per key and hands
each new figure to `Plotly.react`, which redraws only what changed, so `layout.uirevision` keeps the user's zoom.

plotly.js comes from the installed `plotly` package (its `package_data/plotly.min.js`), served by Streamlit's
component file route: no download, the same library `st.plotly_chart` uses.
"""
from __future__ import annotations

from pathlib import Path

import plotly
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
import streamlit.components.v1 as components

_PLOTLY_DIR = Path(plotly.__file__).parent / "package_data"
_SERVED = components.declare_component("plotlyjs", path=str(_PLOTLY_DIR))  # registers the folder's files for serving
PLOTLY_URL = f"./component/{__name__}.plotlyjs/plotly.min.js"

_JS = """
export default function ({ data, parentElement }) {
  const fig = JSON.parse(data.figure);
  if (!window.__mlpLmPlotly) {  // one <script> per page, shared by every chart
    window.__mlpLmPlotly = new Promise((resolve, reject) => {
      if (window.Plotly) return resolve(window.Plotly);
      const s = document.createElement("script");
      s.src = data.plotly_url;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { window.__mlpLmPlotly = null; reject(new Error("could not load plotly.js")); };
      document.head.appendChild(s);
    });
  }
  let gd = parentElement.querySelector(".mlp-lm-live-chart");
  if (!gd) {
    gd = document.createElement("div");
    gd.className = "mlp-lm-live-chart";
    gd.style.width = "100%";
    gd.style.height = (fig.layout && fig.layout.height ? fig.layout.height : 450) + "px";
    parentElement.appendChild(gd);
  }
  gd.__latest = fig;  // a slow load must not draw an older figure over a newer one
  window.__mlpLmPlotly.then((Plotly) => {
    if (gd.__latest === fig) Plotly.react(gd, fig.data, fig.layout, data.config);
  }).catch((e) => { gd.textContent = String(e); });  // say so in place; the next refresh tries again
}
"""

_COMPONENT = st.components.v2.component("mlp_lm_live_chart", js=_JS, isolate_styles=False)


def live_plotly_chart(fig: go.Figure, *, key: str, config: dict | None = None) -> None:
    """Draw `fig` in the element `key`, updating the chart already there instead of replacing it."""
    conf = {"displaylogo": False, "responsive": True, **(config or {})}
    # st.plotly_chart restyles figures with Streamlit's theme; this element draws them as given, so match its look.
    # No template: a named one costs ~25 ms per refresh to validate (this runs twice a second) and 6 KB per message.
    fig.update_layout(template="none", plot_bgcolor="white", font=dict(family='"Source Sans", sans-serif', color="#31333f"),
                      xaxis=dict(automargin=True, showgrid=False), yaxis=dict(automargin=True, gridcolor="#e5e7eb",
                                                                              zeroline=False))
    _COMPONENT(key=key, data={"figure": pio.to_json(fig, validate=False), "config": conf, "plotly_url": PLOTLY_URL},
               width="stretch", height="content")
