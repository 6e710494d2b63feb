"""A Plotly chart that updates in place: the live loss curve's element.

`st.plotly_chart` derives its element id from the figure, so every new point remounts the chart: plotly.js
rebuilds it from scratch twice a second and a zoom or hover is lost each time. This element keeps one chart per key
and hands each new figure to `Plotly.react`, which keeps the user's zoom (`layout.uirevision`).

The chart lives in its own same-origin iframe: a blank document the element writes, not a separate page. Plotly
measures its text through the DOM on every redraw, and in a small document of its own that work stays within the
chart instead of touching the app's large page. On a 2-core machine with the browser on the same cores, training
with the Train page open went from ~81 % to ~97 % of headless speed (6 interleaved rounds of bench/bench_app.py's
measurement). The app's @font-face rules are copied in, so the chart keeps the app's font.

plotly.js comes from the installed `plotly` package (its `package_data/plotly.min.js`): no download. The server
explorer/app.py makes serves it compressed once (explorer/plotly_js.py); otherwise Streamlit's component file route
serves it.
"""
from __future__ import annotations

import base64

import numpy as np
import streamlit as st
import streamlit.components.v1 as components
from plotly.io.json import to_json_plotly

from . import plotly_js

_PLOTLY_DIR = plotly_js.FILE.parent  # plotly's package_data
_SERVED = components.declare_component("plotlyjs", path=str(_PLOTLY_DIR))  # registers the folder's files for serving
PLOTLY_URL = f"./component/{__name__}.plotlyjs/plotly.min.js"

_JS = r"""
function fontRules() {  // the app's @font-face rules, with their URLs made absolute for the iframe
  const out = [];
  for (const sheet of document.styleSheets) {
    let rules;
    try { rules = sheet.cssRules; } catch (e) { continue; }  // a cross-origin sheet: not readable, not needed
    const base = sheet.href || document.baseURI;
    for (const r of rules) {
      if (r.type !== CSSRule.FONT_FACE_RULE) continue;
      out.push(r.cssText.replace(/url\((['"]?)([^'")]+)\1\)/g, (m, q, u) => `url("${new URL(u, base).href}")`));
    }
  }
  return out.join("\n");
}

function makeFrame(parentElement, data) {
  const frame = document.createElement("iframe");
  frame.className = "mlp-lm-live-chart";
  frame.title = data.title;
  frame.style.cssText = "display:block;width:100%;height:0;border:0";  // sized by the first figure
  parentElement.appendChild(frame);
  const doc = frame.contentDocument;
  doc.open();
  doc.write(`<!doctype html><html><head><style>html,body{margin:0;overflow:hidden;background:transparent}
${fontRules()}</style></head><body><div id="chart" style="width:100%;height:0"></div></body></html>`);
  doc.close();
  // plotly.js takes the browser a good part of a second to start: loaded with the first figure, not with the page
  let resolve, reject;
  frame.plotly = new Promise((res, rej) => { resolve = res; reject = rej; });
  frame.plotly.catch(() => { frame.failed = true; });  // the next render makes a new frame and tries again
  frame.loadPlotly = () => {
    if (frame.plotlyRequested) return;
    frame.plotlyRequested = true;
    const s = doc.createElement("script");
    s.src = new URL(data.plotly_url, document.baseURI).href;
    s.onload = () => resolve(frame.contentWindow.Plotly);
    s.onerror = () => reject(new Error(`could not load plotly.js (${s.src})`));
    doc.head.appendChild(s);
  };
  return frame;
}

export default function ({ data: payload, parentElement }) {
  const data = JSON.parse(payload[0]);  // [one JSON text]: see live_plotly_chart
  const fig = data.figure;
  let frame = parentElement.querySelector("iframe.mlp-lm-live-chart");
  if (frame && frame.failed) { frame.remove(); frame = null; }  // the last load failed: try again
  if (!frame) frame = makeFrame(parentElement, data);
  frame.latest = fig;  // a slow load must not draw an older figure over a newer one
  if (!fig) {  // nothing to draw: take away whatever an earlier figure drew (a previous run's curve)
    const gd = frame.contentDocument.getElementById("chart");
    if (frame.contentWindow.Plotly && gd) frame.contentWindow.Plotly.purge(gd);
    frame.style.height = "0px";
    if (gd) gd.style.height = "0px";
    return;
  }
  frame.loadPlotly();
  const height = (fig.layout && fig.layout.height) || 450;
  let note = parentElement.querySelector(".mlp-lm-live-chart-error");
  frame.plotly.then((Plotly) => {
    if (frame.latest !== fig) return;
    if (note) note.remove();
    const gd = frame.contentDocument.getElementById("chart");
    frame.style.height = gd.style.height = `${height}px`;
    Plotly.react(gd, fig.data, fig.layout, data.config);
  }).catch((e) => {  // say so in place; the next refresh tries again
    if (!note) {
      note = document.createElement("div");
      note.className = "mlp-lm-live-chart-error";
      parentElement.prepend(note);
    }
    note.textContent = String(e);
  });
}
"""

_COMPONENT = st.components.v2.component("mlp_lm_live_chart", js=_JS, isolate_styles=False)


def _typed(a):
    """A NumPy array as plotly.js's typed-array form ({dtype, bdata}): a third of the JSON of a list of numbers."""
    if not isinstance(a, np.ndarray):
        return a
    if a.dtype.kind in "iu" and (a.size == 0 or (a.min() >= -2**31 and a.max() < 2**31)):
        a = a.astype("<i4")
    elif a.dtype != np.float32:
        a = a.astype("<f8")
    return {"dtype": {"i": "i4", "f": "f4" if a.dtype == np.float32 else "f8"}[a.dtype.kind],
            "bdata": base64.b64encode(a.astype(a.dtype.newbyteorder("<")).tobytes()).decode("ascii")}


def _styled(spec: dict) -> dict:
    """The figure with the look st.plotly_chart gives charts (this element draws figures as given)."""
    layout = spec.get("layout", {})
    axis = dict(automargin=True, ticklabeloverflow="allow")  # "allow": the default measures every label per redraw
    layout = {**layout, "plot_bgcolor": "white", "font": {"family": '"Source Sans", sans-serif', "color": "#31333f"},
              "xaxis": {**axis, "showgrid": False, **layout.get("xaxis", {})},
              "yaxis": {**axis, "gridcolor": "#e5e7eb", "zeroline": False, **layout.get("yaxis", {})}}
    data = [{k: _typed(v) for k, v in trace.items()} for trace in spec.get("data", [])]
    return {"data": data, "layout": layout}


def live_plotly_chart(spec: dict | None, *, key: str, config: dict | None = None, title: str = "chart") -> None:
    """Draw the plotly figure dict `spec` ({"data": [...], "layout": {...}}, e.g. charts.loss_spec) in the element
    `key`, updating the chart already there instead of replacing it.

    A plain dict, not a go.Figure: go.Figure validates every property (~25 ms per build, twice a second).
    spec None: nothing to draw yet; the element takes no room (placed now, it is kept when the first figure comes).
    title: the iframe's accessible name (what a screen reader announces for the chart).
    """
    conf = {"displaylogo": False, "responsive": True, **(config or {})}
    data = {"figure": None, "config": conf, "plotly_url": plotly_js.url(PLOTLY_URL), "title": title}
    if spec is not None:
        data["figure"] = _styled(spec)
    # [one JSON text]: Streamlit checks a dict's values and any other object for dataframes, which imports pandas and
    # pyarrow (~1 s of the first page); a list passes as it is. plotly's encoder: NaN/inf become null, as plotly.js
    # wants.
    _COMPONENT(key=key, data=[to_json_plotly(data)], width="stretch", height="content")
