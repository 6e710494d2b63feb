"""LR sweep: the lecture's learning-rate range test (fastai's lr_find), on a copy — never the run in progress."""
import time

import streamlit as st

from explorer import charts
from explorer.session import get_holder, values
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
        ss["sweep_error"] = str(e)


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
    if res.suggestions:
        cols = st.columns(len(res.suggestions) + 1)
        cols[0].markdown(f"**Suggestions** (sidebar now: `{ss['lr']:.4g}`)")
        for col, (name, (lr, loss)) in zip(cols[1:], res.suggestions.items()):
            col.button(f"Use {name}: {lr:.3g}", key=f"sweep_use_{name}", on_click=set_lr, args=(lr,),
                       help=f"Smoothed loss there ≈ {loss:.3f}. Sets the sidebar's learning rate (and a running run's).")
    else:
        st.warning("Too few points for suggestions: widen the range or take more steps.")
    st.plotly_chart(charts.sweep_figure(res.lrs, res.losses, res.smoothed, res.suggestions), key="sweep_chart",
                    config={"displaylogo": False})
    st.plotly_chart(charts.exponent_figure(res.log10_lrs, res.losses, res.smoothed), key="sweep_exponent_chart",
                    config={"displaylogo": False})
    st.caption("valley: fastai's default, part-way down the longest falling stretch · steepest: where the smoothed "
               "loss falls fastest · minimum / 10: the classic rule. The lecture read 0.1 off this plot "
               "(exponent −1).")
