"""Train: the live loss curve, progress and the numbers that matter."""
import numpy as np
import streamlit as st

from explorer import charts, health_panel, series
from explorer.live_chart import live_plotly_chart
from explorer.session import bigram_loss, default_fingerprint, figure, get_holder, live, md_literal, show_status, values
from explorer.settings import build_configs, preset_of
from mlp_lm.presets import target
from mlp_lm.errors import MLPLMError
from mlp_lm.reading import fit_reading
from mlp_lm.schedule import lr_schedule

holder = get_holder()
ss = st.session_state
st.title(":material/show_chart: Train")
st.caption("Karpathy's makemore part 2 MLP: embed the last `block_size` characters, tanh hidden layer, softmax over "
           "the next character. Press **Start** in the sidebar and watch the loss fall.")

WINDOWS = {"all steps": None, "last 1,000 steps": 1_000, "last 5,000 steps": 5_000, "last 20,000 steps": 20_000,
           "last 50,000 steps": 50_000}


def _view_controls() -> dict:
    """The loss chart's view settings. Drawn inside the live fragment, so changing one reruns only the fragment (the
    metrics and the chart), not the sidebar and the rest of the page."""
    c1, c2, c3 = st.columns([1.2, 2, 1.2])
    log10 = c1.toggle("log10(loss), as in the lecture", value=True, key="train_log10", persist_state="session")
    whole_y = c1.toggle("Whole y range", value=False, key="train_whole_y", persist_state="session", disabled=log10,
                        help="The linear view fits its y axis to the bulk of the curve, so the first steps' loss (≈ 20 "
                             "at the lecture's init) does not squash the rest; turn this on to see every loss. The "
                             "log10 view always shows everything.")
    smoothing = c2.slider("Smoothing (TensorBoard's debiased EMA)", 0.0, 0.999, 0.95, step=0.001, format="%.3f",
                          key="train_smoothing", persist_state="session",
                          help="0 shows the raw minibatch losses; higher values average over more recent steps.")
    win_label = c3.selectbox("Window", list(WINDOWS), key="train_window", persist_state="session",
                             help="Show only the newest steps; the view follows them as training goes on. A zoom on "
                                  "the chart (drag; double-click to reset) also stays put while the chart updates.")
    return dict(log10=log10, whole_y=whole_y, smoothing=smoothing, win_label=win_label, window=WINDOWS[win_label])


def _metrics(snap) -> None:
    cols = st.columns(5)
    if snap is None:
        try:
            model, train = build_configs(values(), len(holder.names.vocab))  # no dataset built, no torch
            n_params, lr = f"{model.n_params:,}", series.fmt_lr(train.lr)
        except MLPLMError:
            n_params, lr = "—", "—"
        cols[0].metric("Step", "0")
        cols[1].metric("Train loss", "—")
        cols[2].metric("Dev loss", "—")
        cols[3].metric("Learning rate", lr)
        cols[4].metric("Parameters", n_params)
        return
    ev = snap.evals
    last, prev = (ev[-1] if ev else None), (ev[-2] if len(ev) > 1 else None)
    cols[0].metric("Step", f"{snap.step:,}")
    if last is not None:
        cols[1].metric("Train loss", f"{last.train:.4f}", delta=f"{last.train - prev.train:+.4f}" if prev else None,
                       delta_color="inverse", help=f"Mean loss on 20,000 training examples at step {last.step:,}.")
        cols[2].metric("Dev loss", f"{last.dev:.4f}", delta=f"{last.dev - prev.dev:+.4f}" if prev else None,
                       delta_color="inverse", help=f"Mean loss on the whole dev split at step {last.step:,}.")
    else:
        recent = snap.losses[-50:]
        cols[1].metric("Train loss", f"{float(np.mean(recent)):.4f}" if len(recent) else "—",
                       help="Mean minibatch loss of the last steps, until the first evaluation.")
        cols[2].metric("Dev loss", "—", help="Measured at each evaluation (see 'Evaluate every' in the sidebar).")
    cols[3].metric("Learning rate", series.fmt_lr(snap.lr))
    cols[4].metric("Parameters", f"{snap.model_config.n_params:,}")


def _reading(snap) -> None:
    """Once a run has stopped moving: what its train and dev losses say (mlp_lm.reading), and the test loss if known."""
    if snap.status not in ("paused", "finished", "stopped") or not snap.evals:
        return
    final = getattr(snap, "final", None)  # full-split losses at the end of a run, when the trainer provides them
    train, dev = (final["train"], final["dev"]) if final else (snap.evals[-1].train, snap.evals[-1].dev)
    ds = holder.run_dataset()
    text = fit_reading(train, dev, n_train_names=len(ds.train_words) if ds is not None else None,
                       finished=snap.status == "finished")
    if text:
        (st.warning if text.startswith("Overfitting") else st.info)(text, icon=":material/school:")
    if final and final.get("test") is not None:
        st.caption(f"Whole splits at the end of the run: train {final['train']:.4f} · dev {final['dev']:.4f} · "
                   f"**test {final['test']:.4f}** — the test split is looked at once, at the very end, as in the lecture.")


def _chart(snap, view: dict) -> None:
    ds = holder.run_dataset()
    refs = {}
    if ds is not None and holder.run_names is not None:
        refs["bigram baseline"] = bigram_loss(holder.run_names.fingerprint, ds)
        if holder.run_names.fingerprint == default_fingerprint() and snap is not None:  # figures for that list only
            goal = target(preset_of(snap.model_config, snap.train_config) or "lecture")  # own settings: the lecture's
            refs[goal.label] = goal.dev
    if snap is None:  # no run yet: no chart (plotly.js is loaded with the first figure)
        live_plotly_chart(None, key="loss_chart", title="Loss curve")  # first, where the chart will be: kept, not remade
        st.caption("The loss curve appears here with the first training steps.")
        return
    if not len(snap.loss_steps):  # a new run (Reset, a model file): its empty chart replaces the last run's curve
        loaded = ss.get("model_loaded") or {}
        where = f" starts from {loaded['name']}" if loaded.get("run") == holder.run_id else ""
        live_plotly_chart(charts.empty_loss_spec(f"Run {holder.run_id}{where}: no steps yet. The loss curve appears "
                                                 "here with the first training steps."), key="loss_chart",
                          title="Loss curve")
        return
    log10, whole_y, smoothing, window, win_label = (view[k] for k in ("log10", "whole_y", "smoothing", "window",
                                                                      "win_label"))
    steps, losses = series.window(np.asarray(snap.loss_steps), np.asarray(snap.losses), last=window)
    keep = series.downsample(len(steps))
    steps, losses = steps[keep], losses[keep]
    smoothed = series.debiased_ema(losses, smoothing)  # over the points shown, as TensorBoard smooths its points
    evals = [(e.step, e.train, e.dev) for e in snap.evals if not window or e.step >= steps[0]]
    x_range = (max(float(steps[-1]) - window, 0.0), float(steps[-1]) + 1) if window else None
    spec = charts.loss_spec(steps, losses, smoothed, evals, refs, log10=log10, smoothing=smoothing, x_range=x_range,
                            whole_y=whole_y)
    spec["layout"]["uirevision"] = f"{win_label}|{log10}|{whole_y}|{holder.run_id}"  # a zoom survives updates, until the view changes
    live_plotly_chart(spec, key="loss_chart", title="Loss curve")  # updated in place: zoom and hover survive


def body() -> None:
    view = _view_controls()
    snap = holder.snapshot()
    if snap is None:
        st.info("No run yet. Press **Start** in the sidebar to train with the settings there (the **Lecture** preset "
                "is the notebook's exact recipe), or **Step** to take a few steps at a time.")
    elif snap.status in ("diverged", "error"):
        show_status(snap)
    _metrics(snap)
    if snap is not None:
        frac = min(snap.step / max(snap.steps, 1), 1.0)
        left = series.fmt_duration(series.time_left(snap.step, snap.steps, snap.steps_per_s))
        speed = f"{snap.steps_per_s:,.0f} steps/s" if snap.steps_per_s else "— steps/s"
        st.progress(frac, text=f"{snap.step:,} / {snap.steps:,} steps · {speed} · {left} left · "
                               f"{series.fmt_duration(snap.elapsed)} training · run {holder.run_id} ({snap.status})")
        _reading(snap)
    _chart(snap, view)


def settings_and_schedule(snap) -> None:
    """The run's settings and its learning-rate schedule: drawn outside the live fragment (they change per run)."""
    box = st.expander("This run's settings and learning-rate schedule", key="train_settings_open", on_change="rerun")
    if not box.open:  # drawn only while open: a closed expander costs a rerun nothing
        return
    with box:
        tc, mc = snap.train_config, snap.model_config
        xs = np.unique(np.linspace(0, max(tc.steps - 1, 0), 400).round().astype(np.int64))
        lrs = lr_schedule(tc.schedule, tc.lr, tc.lr2, tc.decay_at, tc.steps, xs)
        st.plotly_chart(figure(charts.schedule_figure, xs, lrs), key="schedule_chart", config={"displaylogo": False})
        st.json({"model": mc.to_dict(), "training": tc.to_dict(), "data": holder.run_names.name if holder.run_names else None},
                expanded=False)


def load_model_file() -> None:
    """Upload callback: start from a checkpoint; on a bad file keep everything and say why."""
    up = ss.get("model_upload")
    if up is None:
        return
    try:
        model_values = holder.load_model(up.getvalue(), values())  # in memory only
    except MLPLMError as e:
        ss["model_error"] = md_literal(f"{up.name}: {e}") + ". The current model is unchanged."
    else:
        ss.update(model_values)  # the sidebar shows the loaded model's sizes
        ss.pop("model_error", None)
        ss["model_loaded"] = dict(run=holder.run_id, name=up.name, sizes=model_values)


def model_file(snap) -> None:
    with st.expander("Save or load the model (safetensors)"):
        if snap is not None:  # the bytes are made when the button is clicked, not at every rerun
            st.download_button("Download this model", data=holder.model_bytes, file_name="mlp_lm.safetensors",
                               mime="application/octet-stream", key="model_download",
                               help="C, W1, b1, W2, b2 at the latest step, with the model settings and vocabulary.")
        st.file_uploader("Start from a model file (.safetensors from this app or `python -m mlp_lm train`)",
                         type=["safetensors"], key="model_upload", on_change=load_model_file)
        if ss.get("model_error"):
            st.error(ss["model_error"])
        loaded = ss.get("model_loaded")
        if loaded and loaded["run"] == holder.run_id:
            z = loaded["sizes"]
            st.success(f"Loaded **{md_literal(loaded['name'])}** (context {z['block_size']}, embedding {z['emb_dim']}, "
                       f"{z['hidden']} hidden units) as run {holder.run_id}: **Start** trains on from it; the Sampler "
                       "and Embeddings pages show it now.", icon=":material/check_circle:")


live(holder, body, key="train_live")
health_panel.panel(holder)  # part 3's diagnostics: a live summary line, the charts in an expander
if holder.snapshot() is not None:
    settings_and_schedule(holder.snapshot())
model_file(holder.snapshot())
