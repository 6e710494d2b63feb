"""The shared sidebar (drawn by main.py on every page): status, the run controls, preset and hyperparameters.

Widgets live in the entry script, so they keep their values across pages. Control buttons act through callbacks
(before the script reruns), so the page drawn right after a click already sees the new state.
"""
from __future__ import annotations

import streamlit as st

from mlp_lm.errors import MLPLMError

from . import settings as S
from .capacity import ServerBusy
from .holder import Holder
from .session import STATUS_SECONDS, get_holder, live, md_literal, show_status, values

HELP = {
    "preset": "The lecture's stages. Lecture: makemore part 2's exact recipe (dev ≈ 2.17 after 200,000 steps). "
              "Saturated tanh: part 3's softmax fix alone, so the tanh layer starts saturated (watch the health "
              "panel). Init fixed: part 3's both fixes (dev ≈ 2.10). Fast: lecture quality in seconds (Adam, "
              "one-cycle). 2-D embeddings: the lecture's first model, whose raw scatter of C is the plot from the "
              "video. Beyond the lecture: a wider flat MLP with AdamW that beats part 5's WaveNet (dev ≈ 1.95).",
    "lr": "Applies at once to a running or paused run (the other settings apply to the next run).",
    "lr2": "The rate after the decay step (step schedule) or the final rate (cosine). Also live.",
    "decay_step": "The step at which the step schedule switches from the learning rate to lr2 (the lecture: 100,000).",
    "init": "lecture: plain randn draws as in the notebook (loss ≈ 27 at init: confidently wrong); saturated: the "
            "softmax fixed (W2 × 0.01) but tanh still saturated; scaled: part 3's both fixes (no hockey stick).",
    "eval_every": "Train (subsample) and dev loss are measured every this many steps; auto keeps it to about 40 per run.",
    "step_n": "How many optimisation steps one click on Step runs before pausing again.",
}


def _first_chunk(holder: Holder) -> bool:
    s = holder.snapshot()
    return s is not None and s.status == "running" and s.step == 0


def _control(action: str) -> None:
    """Run-control button callback (runs in the script thread before the rerun)."""
    holder: Holder = get_holder()
    ss = st.session_state
    try:
        if action == "start":
            holder.start(values())
        elif action == "pause":
            holder.pause()
        elif action == "resume":
            holder.resume()
        elif action == "step":
            holder.step(int(ss["step_n"]), values())
        elif action == "stop":
            holder.stop()
        elif action == "reset":
            holder.reset(values())
    except ServerBusy as e:  # nothing changed: say so where the click was, and in a toast
        ss.pop("control_error", None)
        ss["control_busy"] = str(e)
        st.toast(str(e), icon=":material/hourglass_top:")
    except MLPLMError as e:
        ss.pop("control_busy", None)
        ss["control_error"] = str(e)
    else:
        ss.pop("control_error", None)
        ss.pop("control_busy", None)


def push_lr() -> None:
    """Send the sidebar's learning rates to the run in progress (a no-op when none is)."""
    ss = st.session_state
    get_holder().set_lr(float(ss["lr"]), float(ss["lr2"]))


def set_lr(lr: float) -> None:
    """Callback for other pages (e.g. the sweep's suggestions): put `lr` in the sidebar control and the live run."""
    lo, hi = S.RANGES["lr"]
    st.session_state["lr"] = float(min(max(lr, lo), hi))
    push_lr()


def _apply_preset() -> None:
    """Set the widgets from the preset. Not pushed into a run in progress: a preset describes the next run."""
    ss = st.session_state
    for k, v in S.preset_values(ss["preset"]).items():
        ss[k] = v


def _show_live_status(holder: Holder) -> None:
    show_status(holder.snapshot(), _first_chunk(holder), run=holder.run_id)


def _early_status(holder: Holder, box) -> None:
    """Fill the status slot at once, before the page is drawn, from the run's snapshot now: a click's effect (paused,
    running, a new run) shows with the rerun's first messages, and never the old status beside the new page (e.g.
    "finished" just after a new Start). The control callbacks wait for the trainer to take a pause or a start, so the
    snapshot already says it. draw_status replaces the line after the page, with the page's numbers."""
    with box:
        show_status(holder.snapshot(), _first_chunk(holder), run=holder.run_id)


def draw_status(holder: Holder, box) -> None:
    """The live status line, drawn into `box` (the sidebar slot made by draw()).

    main.py calls this after the page, so within one script run the page's numbers are updated before the status
    says e.g. "paused": whoever reads "paused" also reads the step it paused at. It refreshes as often as the pages'
    live views (session.STATUS_SECONDS), so the two agree within one refresh.
    """
    with box:
        live(holder, lambda: _show_live_status(holder), key="sidebar_status", every=STATUS_SECONDS)


def draw(holder: Holder):
    """The sidebar; returns the (still empty) container for the status line, see draw_status()."""
    ss = st.session_state
    with st.sidebar:
        st.markdown("### :material/psychology: MLP LM Explorer")

        c1, c2 = st.columns(2)
        c1.button("Start", key="btn_start", on_click=_control, args=("start",), type="primary", width="stretch",
                  icon=":material/play_arrow:", help="Train with the settings below (resumes a paused run).")
        c2.button("Pause", key="btn_pause", on_click=_control, args=("pause",), width="stretch", icon=":material/pause:")
        c1.button("Resume", key="btn_resume", on_click=_control, args=("resume",), width="stretch",
                  icon=":material/resume:")
        c2.button("Step", key="btn_step", on_click=_control, args=("step",), width="stretch", icon=":material/skip_next:",
                  help=f"Run {ss['step_n']:,} steps, then pause.")
        c1.button("Stop", key="btn_stop", on_click=_control, args=("stop",), width="stretch", icon=":material/stop:",
                  help="End the run (its parameters stay for the other pages); Start begins a new one.")
        c2.button("Reset", key="btn_reset", on_click=_control, args=("reset",), width="stretch",
                  icon=":material/restart_alt:",
                  help="Stop the run and make a fresh one (step 0, new init) from the settings below.")
        # under the buttons: a button's tooltip opens above it, so it never covers the status after a click
        box = st.empty()
        _early_status(holder, box)
        if ss.get("control_error"):
            st.error(md_literal(ss["control_error"]))
        if ss.get("control_busy"):
            st.warning(ss["control_busy"], icon=":material/hourglass_top:")

        pending = holder.pending(values())
        if pending:
            st.warning("**Applies on the next run (Reset/Start):**\n" + "\n".join(f"- {md_literal(p)}" for p in pending))

        st.selectbox("Preset", list(S.PRESET_LABELS), key="preset", on_change=_apply_preset, help=HELP["preset"])

        st.markdown("**Model**")
        st.slider("Context length (block_size)", *S.RANGES["block_size"], key="block_size")
        st.slider("Embedding dim", *S.RANGES["emb_dim"], key="emb_dim")
        st.slider("Hidden units", *S.RANGES["hidden"], key="hidden")
        st.selectbox("Init", S.INIT_CHOICES, key="init", help=HELP["init"])

        st.markdown("**Training**")
        st.number_input("Learning rate", *S.RANGES["lr"], step=0.005, format="%.4g", key="lr", on_change=push_lr,
                        help=HELP["lr"])
        st.selectbox("Schedule", S.SCHEDULE_CHOICES, key="schedule")
        a, b = st.columns(2)
        a.number_input("lr2 (decay to)", *S.RANGES["lr2"], step=0.001, format="%.4g", key="lr2", on_change=push_lr,
                       help=HELP["lr2"], disabled=ss["schedule"] not in ("step", "cosine"))
        b.number_input("lr2 from step", 0, S.RANGES["steps"][1], step=1_000, key="decay_step", help=HELP["decay_step"],
                       disabled=ss["schedule"] != "step")
        st.number_input("Steps", *S.RANGES["steps"], step=1_000, key="steps")
        st.select_slider("Batch size", S.BATCH_SIZES, key="batch_size")
        st.selectbox("Optimizer", S.OPTIMIZER_CHOICES, key="optimizer")
        st.number_input("Weight decay", *S.RANGES["weight_decay"], step=1e-4, format="%.4g", key="weight_decay")
        st.number_input("Seed", *S.RANGES["seed"], step=1, key="seed")
        a, b = st.columns(2)
        a.selectbox("Evaluate every", S.EVAL_CHOICES, key="eval_every", help=HELP["eval_every"],
                    format_func=lambda v: v if v == "auto" else f"{v:,} steps")
        b.selectbox("Step runs", S.STEP_CHOICES, key="step_n", help=HELP["step_n"],
                    format_func=lambda v: f"{v:,} step" + ("s" if v > 1 else ""))
        st.caption(f"Data: {md_literal(holder.names.name)} · {len(holder.names.words):,} names · one CPU thread for training")
    return box
