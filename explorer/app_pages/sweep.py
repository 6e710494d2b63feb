"""LR sweep: the lecture's learning-rate range test (fastai's lr_find), on a copy — never the run in progress."""
import time

import streamlit as st

from explorer import charts
from explorer.series import fmt_lr
from explorer.session import figure, get_holder, md_literal, values
from explorer.settings import build_configs
from explorer.sidebar import set_lr
from mlp_lm.errors import MLPLMError
from mlp_lm.model import init_params
from mlp_lm.sweep import lr_sweep

holder = get_holder()
ss = st.session_state
st.title(":material/troubleshoot: Learning-rate sweep")
st.caption("makemore part 2 finds its learning rate by taking one minibatch step per rate on an exponential grid "
           "(`lre = torch.linspace(-3, 0, 1000); lrs = 10**lre`) and plotting the loss: good rates sit in the valley "
           "before the loss blows up. The sweep trains a **copy** of the parameters and uses the sidebar's optimizer, "
           "batch size and weight decay; a run in progress is not touched.")

PLOT_CONFIG = {"displaylogo": False, "displayModeBar": False}  # the toolbar would cover the labels above the plot
COLOUR_TAGS = {"valley": ":red", "steepest": ":green", "minimum / 10": ":orange"}  # as the chart's markers
GRID = [1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0, 10.0]
SOURCES = {"fresh": "fresh init (sidebar settings)", "current": "current model (the run's latest parameters)"}

c1, c2, c3 = st.columns([1.4, 2, 1])
source = c1.radio("Start from", list(SOURCES), format_func=SOURCES.get, key="sweep_source", persist_state="session", help="A fresh init answers 'which rate to start a run "
                  "with'; the current model answers 'which rate suits it now' (e.g. when to decay).")
lr_min, lr_max = c2.select_slider("Learning-rate range", GRID, value=(1e-3, 1.0), key="sweep_range",
                                  persist_state="session", format_func=lambda v: f"{v:g}")
num = c3.number_input("Steps (one per rate)", 50, 10_000, 1_000, step=50, key="sweep_num", persist_state="session")


def run_sweep() -> None:
    v = values()
    try:
        if source == "current" and holder.trainer is not None:
            s = holder.snapshot()
            params, mc, ds = s.params, s.model_config, holder.run_dataset()
            label = f"current model of run {holder.run_id} at step {s.step:,}"
        else:
            ds = holder.dataset(int(v["block_size"]))
            mc, tc = build_configs(v, len(ds.vocab))
            params = init_params(mc, tc.seed)
            label = f"fresh init ({mc.init}, seed {tc.seed})"
        t0 = time.perf_counter()
        res = lr_sweep(params, ds, mc, lr_min=float(lr_min), lr_max=float(lr_max), num=int(num),
                       batch_size=int(v["batch_size"]), seed=int(v["seed"]), optimizer=v["optimizer"],
                       weight_decay=float(v["weight_decay"]))
        ss["sweep"] = dict(result=res, label=label, optimizer=v["optimizer"], batch=int(v["batch_size"]),
                           seconds=time.perf_counter() - t0)
        ss.pop("sweep_error", None)
    except MLPLMError as e:
        ss["sweep_error"] = md_literal(e)


st.button("Run sweep", key="sweep_run", type="primary", on_click=run_sweep)
if ss.get("sweep_error"):
    st.error(ss["sweep_error"])

done = ss.get("sweep")
if done is None:
    st.info("Press **Run sweep**: it takes about a second. Then click a suggestion to copy it into the sidebar's "
            "learning rate.")
else:
    res = done["result"]
    st.caption(f"{len(res.losses):,} of {res.num_requested:,} steps on the {done['label']} · {done['optimizer']} · "
               f"batch {done['batch']} · {done['seconds']:.2f} s"
               + (" · stopped early: the loss blew up" if res.stopped_early else ""))
    st.markdown("**Loss vs learning rate** (fastai's `lr_find` plot)")
    st.plotly_chart(figure(charts.sweep_figure, res.lrs, res.losses, res.smoothed, res.suggestions), key="sweep_chart",
                    config=PLOT_CONFIG)
    if res.suggestions:
        st.markdown(f"**Suggestions** — click one to copy it into the sidebar's learning rate (now `{fmt_lr(ss['lr'])}`):")
        for name in [n for n in charts.SWEEP_ORDER if n in res.suggestions]:
            lr, loss = res.suggestions[name]
            a, b = st.columns([1.5, 4], vertical_alignment="center")
            a.button(f"Use {name}: {fmt_lr(lr)}", key=f"sweep_use_{name}", on_click=set_lr, args=(lr,), width="stretch",
                     help=f"Smoothed loss there ≈ {loss:.3f}. Sets the sidebar's learning rate (and a running run's).")
            b.markdown(f"{COLOUR_TAGS.get(name, '')}[**{name}**] — {charts.SWEEP_RULES[name]}" if name in COLOUR_TAGS
                       else f"**{name}** — {charts.SWEEP_RULES.get(name, '')}")
    else:
        st.warning("Too few points for suggestions: widen the range or take more steps.")
    st.markdown("**Why the rules disagree.** The sweep trains as it goes: each rate is tried on a model already trained "
                "by every smaller rate before it, so the x axis is also time. On the left the loss falls mostly because "
                "training has begun (almost any rate helps a fresh model), which pulls *steepest* and *valley* towards "
                "small rates; the bottom is where a larger rate stops helping a partly trained model. fastai and "
                "Lightning pick a rate safely below the bottom for a whole run at that rate; the lecture takes the "
                "bottom and divides it by 10 for the second half of its run (0.1 → 0.01).")
    st.markdown("**The lecture's plot:** loss against the exponent `lre`")
    st.plotly_chart(figure(charts.exponent_figure, res.log10_lrs, res.losses, res.smoothed, res.suggestions),
                    key="sweep_exponent_chart", config=PLOT_CONFIG)
