"""Runs: every run in the store (app, CLI and sweep trials), compared side by side, opened, exported, copied as code."""
import streamlit as st

from explorer import run_panel, runs_view as V
from explorer.live_chart import live_plotly_chart
from explorer.runs_charts import overlay_spec
from explorer.session import get_holder, live, md_literal
from explorer.settings import LABELS
from mlp_lm.chars import printable
from mlp_lm.errors import MLPLMError
from mlp_lm.presets import target

holder = get_holder()
ss = st.session_state
st.title(":material/stacks: Runs")
st.caption("Every training run is kept — from this app, from `python -m mlp_lm train`, and from sweeps. Tick "
           "**compare** to overlay runs, or try the lecture's method: grow the hidden layer, compare the dev losses.")

run_panel.opened_banner(holder, "runs_close_top")
msg = ss.pop("runs_msg", None)
if msg:
    getattr(st, msg[0])(msg[1])

runs, notes = holder.store.list()
if notes:
    with st.expander(f"{len(notes)} folder{'s' if len(notes) > 1 else ''} in the runs folder skipped"):
        st.text("\n".join(printable(n) for n in notes[:50]))
if not runs:
    st.info(f"No runs yet in `{printable(holder.store.root)}`. Press **Start** in the sidebar, or run "
            "`python -m mlp_lm train` — every run is recorded here.")
    st.stop()

rows = V.ordered(runs)
by_id = {r.id: r for r in rows}
live_id = holder.recorder.run_id if holder.recorder is not None else None
if "runs_selected" not in ss:  # first visit: the newest runs, as TensorBoard shows every run
    ss["runs_selected"] = [r.id for r in rows[:3]]
selected = [i for i in ss["runs_selected"] if i in by_id]
ss["runs_selected"] = selected


def on_table(ids: list[str], key: str) -> None:
    """The table's edits (compare / name / pinned), applied by run id; then a fresh table from the store."""
    names = {i: by_id[i].name for i in ids if i in by_id}
    e = V.table_edits(ss[key].get("edited_rows", {}), ids, names)
    chosen = [i for i in ss["runs_selected"] if e.select.get(i, True)]
    chosen += [i for i, on in e.select.items() if on and i not in chosen]
    ss["runs_selected"] = chosen
    try:
        for i, name in e.rename.items():
            holder.store.rename(i, name)
        for i, pinned in e.pin.items():
            holder.store.pin(i, pinned)
    except MLPLMError as err:
        ss["runs_msg"] = ("error", md_literal(err))
    ss["runs_table_gen"] = ss.get("runs_table_gen", 0) + 1


def on_pick() -> None:
    ss["runs_selected"] = list(ss["runs_pick"])


def on_sweep() -> None:
    sweep = ss.get("runs_sweep")
    if sweep:
        ss["runs_selected"] = [r.id for r in rows if r.sweep == sweep]
    ss["runs_sweep"] = None


sweeps = list(dict.fromkeys(r.sweep for r in rows if r.sweep))
st.subheader(f"{len(rows)} run{'s' if len(rows) > 1 else ''}", anchor=False)
key = f"runs_table_{ss.get('runs_table_gen', 0)}"
ids = [r.id for r in rows]
NUM = st.column_config.NumberColumn
st.data_editor(
    V.table(rows, selected, live_id), key=key, on_change=on_table, args=(ids, key), hide_index=True,
    height=min(38 + 35 * len(rows), 420), disabled=[c for c in V.COLUMNS if c not in ("compare", "name", "pinned")],
    column_config={
        "compare": st.column_config.CheckboxColumn("compare", width=95, help="Overlay this run on the chart below."),
        "name": st.column_config.TextColumn("name", width=340, max_chars=80, help="Double-click to rename."),
        "when": st.column_config.DatetimeColumn("when", format="distance", help="When the run started."),
        "parameters": NUM("parameters", format="localized"), "steps": NUM("steps", format="localized"),
        "train loss": NUM(format="%.4f"), "dev loss": NUM(format="%.4f", help="The final dev loss, else the latest evaluation's."),
        "test loss": NUM(format="%.4f", help="Measured once, when the run ended (the lecture uses the test split sparingly)."),
        "steps/s": NUM(format="localized"), "pinned": st.column_config.CheckboxColumn("pinned", width="small",
                                                                                    help="Pinned runs are always kept."),
        "status": st.column_config.TextColumn(help="interrupted: the run's process ended without finishing it."),
        "sweep": st.column_config.TextColumn(help="Trials of one sweep, listed together."),
    })

c1, c2 = st.columns([4, 1.3])
ss["runs_pick"] = selected  # before the widget: it shows the selection made in the table too
c1.multiselect("Compared runs", ids, key="runs_pick", on_change=on_pick, placeholder="Tick runs in the table, or pick them here",
               format_func=lambda i: f"{by_id[i].name[:34]} · {i[-4:]}")
if sweeps:
    c2.selectbox("Compare a sweep's trials", sweeps, index=None, key="runs_sweep", on_change=on_sweep,
                 placeholder="a sweep…")
chosen = [by_id[i] for i in selected]
labels = V.legend_labels(chosen)

a, b, c = st.columns([1.2, 2, 1.4])
log10 = a.toggle("log10(loss)", value=True, key="runs_log10", persist_state="session")
smoothing = b.slider("Smoothing (TensorBoard's debiased EMA)", 0.0, 0.999, 0.95, step=0.001, format="%.3f",
                     key="runs_smoothing", persist_state="session")
only_diff = c.toggle("Differences only", value=True, key="runs_diff", persist_state="session",
                     help="Show only the settings in which the compared runs differ.")


def chart() -> None:
    snap = holder.snapshot()
    if chosen:
        items = []
        for r in chosen:
            cur = V.snapshot_curves(snap) if r.id == live_id and snap is not None else V.stored_curves(holder.store, r.id)
            steps, smooth = V.smoothed(cur, smoothing)
            items.append((labels[r.id], steps, smooth, cur.eval_steps, cur.eval_dev))
        lecture = target("lecture")  # its dev loss means something only on the default names
        refs = {lecture.label: lecture.dev} if all(r.data.get("default") for r in chosen) else {}
        spec = overlay_spec(items, log10=log10, refs=refs)
        spec["layout"]["uirevision"] = f"{','.join(selected)}|{log10}"  # zoom kept while the runs shown stay
        live_plotly_chart(spec, key="runs_chart", title="Loss curves of the compared runs")
        st.caption("Lines: the smoothed training-minibatch loss; diamonds: the dev loss at each evaluation. "
                   "The legend names what differs between the runs; click an entry to hide that run.")
    if snap is not None and live_id in by_id and snap.status == "running":
        st.caption(f":material/play_circle: This tab's run is training: step {snap.step:,} of {snap.steps:,}"
                   + (f" · dev loss {snap.last_eval.dev:.4f}" if snap.last_eval else "")
                   + " — its row in the table is updated when it ends.")


if not chosen:
    st.info("Tick **compare** for runs in the table (or pick them above) to overlay their loss curves.")
live(holder, chart, key="runs_live")

if chosen:
    df = V.compare_table(chosen, only_diff and len(chosen) > 1, labels)
    st.dataframe(df, hide_index=True, key="runs_compare", column_config={
        **{k: st.column_config.TextColumn(LABELS.get(k, k)) for k in V.SETTING_ORDER},
        "dev loss": NUM(format="%.4f"), "test loss": NUM(format="%.4f")})
    if only_diff and len(chosen) > 1 and len(df.columns) == 4:
        st.caption("These runs have the same settings (they differ only in their random draws, if at all).")

st.subheader("One run: open, rename, pin, delete, export", anchor=False)
if ss.get("runs_focus") not in by_id:
    ss.pop("runs_focus", None)
focus = st.selectbox("Run", ids, index=ids.index(selected[0]) if selected else 0, key="runs_focus",
                     format_func=lambda i: f"{by_id[i].name} · {V.status(by_id[i], live_id)} · {i}",
                     label_visibility="collapsed")
run_panel.draw(holder, by_id[focus], live_id)
