"""Hyperparameter search: every combination (or N random draws) of the values typed here, each trained as its own
run in parallel worker processes; the results fill in as trials finish. Logic: explorer/grid_view.py, mlp_lm.grid."""
import streamlit as st

from explorer import grid_charts
from explorer.grid_session import get_grid
from explorer.grid_view import CHOICES, PAGE_PARAMS, SCALING_VALUES, build_spec, dask_scheduler
from explorer.series import fmt_duration
from explorer.session import get_holder, md_literal, values
from explorer.settings import LABELS
from mlp_lm import grid_table
from mlp_lm.errors import MLPLMError
from mlp_lm.grid import MAX_TRIALS

holder, grid = get_holder(), get_grid()
ss = st.session_state
st.title(":material/grid_view: Hyperparameter search")
st.caption("The lecture's advice: search systematically rather than tune at random — e.g. grow the hidden layer, "
           "then the embedding, and compare dev losses. Give one or more values (comma-separated) for any setting; "
           "a blank one takes the sidebar's. Every combination trains as its own run (see the Runs page), "
           "several at a time in separate worker processes, on the data in use.")
MODES = ("Grid", "Random draws")
HINT = "one value or several, comma-separated; with random draws also a range LOW:HIGH"


def page_values() -> dict:
    return {k: ss.get(f"grid_{k}") for k in PAGE_PARAMS}


def load_scaling() -> None:
    """The lecture's scaling experiment: hidden 100/200/300 × embedding 2/10 at block 3, the lecture's recipe."""
    for k, v in SCALING_VALUES.items():
        ss[f"grid_{k}"] = v
    ss["grid_mode"] = MODES[0]


def current_spec():
    random = int(ss["grid_draws"]) if ss.get("grid_mode") == MODES[1] else None
    return build_spec(page_values(), values(), random=random, draw_seed=int(ss.get("grid_draw_seed") or 0))


def run() -> None:
    scheduler = dask_scheduler() if ss.get("grid_where") == "dask" else None
    try:
        grid.start(current_spec(), holder.names.words, holder.names.name, backend="dask" if scheduler else "loky",
                   scheduler=scheduler, data_default=holder.names.default)
    except MLPLMError as e:
        ss["grid_error"] = str(e)
    else:
        ss.pop("grid_error", None)


snap = grid.snapshot()
top = st.columns([1.2, 1, 1, 1.6], vertical_alignment="bottom")
top[0].radio("Search", MODES, key="grid_mode", horizontal=True, persist_state="session",
             help="Grid: every combination of the values. Random draws: N combinations drawn with the seed "
                  "(a setting may then also be a range LOW:HIGH, drawn log-uniformly).")
random_mode = ss.get("grid_mode") == MODES[1]
top[1].number_input("Random draws", 1, MAX_TRIALS, 8, key="grid_draws", disabled=not random_mode,
                    persist_state="session")
top[2].number_input("Draw seed", 0, 2**31 - 1, 0, key="grid_draw_seed", disabled=not random_mode,
                    persist_state="session", help="The same seed draws the same trials.")
top[3].button("Lecture's scaling experiment", key="grid_scaling", on_click=load_scaling, width="stretch",
              icon=":material/science:", disabled=snap.running,
              help="Loads hidden 100 / 200 / 300 × embedding 2 / 10 at block 3 with the lecture's recipe "
                   "(200,000 SGD steps, 0.1 → 0.01 half way, batch 32): 6 trials.")

side = values()
cols = st.columns(4)
for i, name in enumerate(PAGE_PARAMS):
    col, label = cols[i % 4], LABELS.get(name, name)
    now = side.get(name)
    if name in CHOICES:
        col.multiselect(label, CHOICES[name], key=f"grid_{name}", placeholder=f"sidebar: {now}",
                        persist_state="session")
    else:
        shown = "half way" if name == "decay_step" and now is None else f"{now:g}" if isinstance(now, float) else now
        col.text_input(label, key=f"grid_{name}", placeholder=f"sidebar: {shown}", persist_state="session",
                       help=HINT + (" ('none': half way through each trial)" if name == "decay_step" else ""))

try:
    spec = current_spec()
    n = len(spec.expand())  # validates every trial, so a bad value is said here, before Run
    preview = (f"**{n} trial{'s' if n != 1 else ''}**" + (f" over {', '.join(LABELS.get(v, v) for v in spec.varied)}"
               if spec.varied else " (no setting varies: give two or more values for one)"))
except MLPLMError as e:
    spec, preview = None, f":red[{e}]"
scheduler = dask_scheduler()
b = st.columns([1, 1, 4, 2.2], vertical_alignment="center")
b[0].button("Run", key="grid_run", type="primary", icon=":material/play_arrow:", on_click=run, width="stretch",
            disabled=snap.running or spec is None)
b[1].button("Stop", key="grid_stop", icon=":material/stop:", on_click=grid.stop, width="stretch",
            disabled=not snap.running, help="Running trials end now (kept as stopped runs); the rest are cancelled.")
if scheduler:
    b[3].radio("Run on", ("local", "dask"), key="grid_where", horizontal=True, persist_state="session",
               format_func=lambda v: "this machine" if v == "local" else f"Dask at {scheduler}")
b[2].markdown(preview)
if ss.get("grid_error"):
    st.error(md_literal(ss["grid_error"]))


def results() -> None:
    snap = grid.snapshot()
    if snap.status == "idle":
        st.info("Choose values and press **Run** — or load the **lecture's scaling experiment** first.")
        return
    done = len(snap.results)
    st.progress(done / max(snap.total, 1), text=f"{snap.status} · {done} of {snap.total} trials · "
                f"{fmt_duration(snap.elapsed)} · {snap.where} · search {snap.sweep}")
    if snap.message:
        st.error(md_literal(snap.message))
    rows = grid_table.rows(snap.results, snap.varied)
    if not rows:
        st.caption("The table fills in as each trial finishes.")
        return
    conf = {k: st.column_config.Column(LABELS.get(k, k)) for k in snap.varied}
    conf |= {"dev_loss": st.column_config.NumberColumn("dev loss", format="%.4f"),
             "train_loss": st.column_config.NumberColumn("train loss", format="%.4f"),
             "seconds": st.column_config.NumberColumn("time (s)", format="%.1f"),
             "step": st.column_config.NumberColumn("steps", format="localized"),
             "run": st.column_config.TextColumn("run"), "message": st.column_config.TextColumn("note")}
    order = ["trial", *snap.varied, "status", "dev_loss", "train_loss", "seconds", "step", "run", "message"]
    st.dataframe(rows, column_order=order, column_config=conf, hide_index=True, key="grid_table")
    st.download_button("Download CSV", grid_table.csv_text(rows, snap.varied), file_name=f"{snap.sweep}.csv",
                       mime="text/csv", key="grid_csv", on_click="ignore", icon=":material/download:")
    if any(r["dev_loss"] is not None for r in rows) and snap.varied:
        st.subheader("Dev loss vs each setting")
        st.plotly_chart(grid_charts.per_setting_figure(rows, snap.varied), key="grid_per_setting",
                        config={"displaylogo": False})
        st.subheader("All trials: parallel coordinates")
        st.plotly_chart(grid_charts.parallel_figure(rows, snap.varied), key="grid_parallel",
                        config={"displaylogo": False})


polling = grid.snapshot().running


@st.fragment(run_every=1.0 if polling else None)
def live_results() -> None:
    with st.container(key="live-grid"):  # live.css keeps live updates from animating
        results()
    if polling and not grid.snapshot().running:
        st.rerun()  # once, so polling switches off and the buttons re-enable


live_results()
