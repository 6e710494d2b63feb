"""The Runs page's panel for one run: open it on the model pages, rename, pin, delete (with a confirmation step),
download its history / embeddings / model, and "Copy as Python". Callbacks act before the rerun, so the page drawn
next already shows the change; every store error becomes one line on the page."""
from __future__ import annotations

import streamlit as st

from mlp_lm import export, script
from mlp_lm.errors import MLPLMError
from mlp_lm.runs import LIVE_SECONDS

from .holder import Holder
from .runs_view import _age, stored_curves
from .session import md_literal

ss = st.session_state


def _say(kind: str, text: str) -> None:
    ss["runs_msg"] = (kind, text)


def _act(fn, ok: str | None = None) -> None:
    try:
        fn()
    except MLPLMError as e:
        _say("error", str(e))
    else:
        if ok:
            _say("success", ok)


def open_run(holder: Holder, run_id: str, name: str) -> None:
    _act(lambda: holder.open_run(run_id))  # the banner at the top and the links by the button say so


def close_view(holder: Holder) -> None:
    holder.close_view()
    _say("info", "Back to the current run on the Embeddings and Sampler pages.")


def _rename(holder: Holder, run_id: str) -> None:
    _act(lambda: holder.store.rename(run_id, ss.get(f"runs_rename_{run_id}", "")), "Renamed.")


def _pin(holder: Holder, run_id: str, pinned: bool) -> None:
    _act(lambda: holder.store.pin(run_id, pinned))


def _ask_delete(run_id: str) -> None:
    ss["runs_confirm"] = run_id


def _cancel_delete() -> None:
    ss.pop("runs_confirm", None)


def _delete(holder: Holder, run_id: str, name: str) -> None:
    ss.pop("runs_confirm", None)
    snap = holder.snapshot()
    if holder.recorder is not None and run_id == holder.recorder.run_id and snap is not None and not snap.done:
        _say("error", "This run is still in progress in this tab: **Stop** it in the sidebar first.")
        return

    def go():
        holder.store.delete(run_id)
        if holder.opened is not None and holder.opened.run_id == run_id:
            holder.close_view()
        ss["runs_selected"] = [i for i in ss.get("runs_selected", []) if i != run_id]

    _act(go, f"Deleted **{md_literal(name)}**.")


def _history(holder: Holder, run_id: str, which: str) -> str:
    c = stored_curves(holder.store, run_id)
    if which == "losses":
        return export.losses_csv(c.steps, c.losses)
    return export.evals_csv(c.eval_steps, c.eval_train, c.eval_dev)


def _projector(holder: Holder, run_id: str, which: int) -> str:
    ck = holder.store.load_checkpoint(run_id)
    return export.projector_tsv(ck.params["C"].numpy(), ck.vocab.itos)[which]


def _model(holder: Holder, run_id: str) -> bytes:
    return (holder.store.path(run_id) / "model.safetensors").read_bytes()


def opened_banner(holder: Holder, key: str) -> None:
    """On a model page: which run it shows when one was opened from Runs, with the way back to the current run."""
    v = holder.opened
    if v is None:
        return
    a, b = st.columns([3.3, 1.7], vertical_alignment="center")
    a.info(f"Viewing run **{md_literal(v.label)}** (opened from Runs; step {v.step:,}, {v.status}) — the run in this "
           "tab, if any, trains on meanwhile.", icon=":material/visibility:")
    b.button("Back to the current run", key=key, on_click=close_view, args=(holder,), icon=":material/undo:",
             width="stretch")


def draw(holder: Holder, r, live_id: str | None) -> None:
    """The panel for the run `r` (a RunInfo)."""
    has_model = (holder.store.path(r.id) / "model.safetensors").exists()
    live = r.id == live_id and r.status in ("running", "paused")
    opened = holder.opened is not None and holder.opened.run_id == r.id
    c = st.columns([1.3, 1, 1, 3.4])
    if opened:
        c[0].button("Close model", key="runs_close", on_click=close_view, args=(holder,), icon=":material/undo:",
                    width="stretch", help="The Embeddings and Sampler pages go back to the current run.")
    else:
        c[0].button("Open model", key="runs_open", on_click=open_run, args=(holder, r.id, r.name),
                    type="primary", icon=":material/open_in_new:", disabled=not has_model or r.id == live_id,
                    width="stretch",
                    help="Show this run's model on the Embeddings and Sampler pages (a run training in this tab carries on)."
                    if has_model and r.id != live_id else
                    "This is the current run: those pages show it already." if r.id == live_id else
                    "This run saved no model (it ended before its first save).")
    c[1].button("Unpin" if r.pinned else "Pin", key="runs_pin", on_click=_pin, args=(holder, r.id, not r.pinned),
                icon=":material/keep:", width="stretch",
                help="Pinned runs are never removed when the store keeps only its newest runs.")
    c[2].button("Delete", key="runs_delete", on_click=_ask_delete, args=(r.id,), icon=":material/delete:",
                width="stretch", disabled=live, help="Stop it first." if live else "Asks for a confirmation.")
    c[3].text_input("Name", r.name, key=f"runs_rename_{r.id}", on_change=_rename, args=(holder, r.id),
                    max_chars=80, label_visibility="collapsed", help="Rename the run (Enter to save).")
    if opened:
        a, b, c_, _ = st.columns([2.0, 0.9, 0.9, 2.3], vertical_alignment="center")
        a.caption(":material/visibility: Its model is the one these pages show now:")
        b.page_link("app_pages/embeddings.py", label="Embeddings", icon=":material/scatter_plot:")
        c_.page_link("app_pages/sampler.py", label="Sampler", icon=":material/casino:")
    if ss.get("runs_confirm") == r.id:
        busy = r.status in ("running", "paused") and _age(r.updated) < LIVE_SECONDS
        st.warning(f"Delete **{md_literal(r.name)}** (`{r.id}`) and all its files? This cannot be undone."
                   + (" It has written in the last minutes: it may still be training in another tab or process."
                      if busy else ""), icon=":material/delete:")
        a, b, _ = st.columns([1, 1, 4])
        a.button("Delete permanently", key="runs_delete_yes", type="primary", on_click=_delete, args=(holder, r.id, r.name))
        b.button("Cancel", key="runs_delete_no", on_click=_cancel_delete)

    stem = f"run-{r.id}"
    kw = dict(on_click="ignore", icon=":material/download:", width="stretch")
    d = st.columns([1.1, 1, 1, 1, 1])
    d[0].download_button("Losses CSV", lambda: _history(holder, r.id, "losses"), f"{stem}-losses.csv", "text/csv",
                         key="runs_dl_losses", help="The per-step minibatch loss: step,loss.", **kw)
    d[1].download_button("Evals CSV", lambda: _history(holder, r.id, "evals"), f"{stem}-evals.csv", "text/csv",
                         key="runs_dl_evals", help="The periodic evaluations: step,train_loss,dev_loss.", **kw)
    d[2].download_button("vectors.tsv", lambda: _projector(holder, r.id, 0), "vectors.tsv", "text/tab-separated-values",
                         key="runs_dl_vectors", disabled=not has_model,
                         help="The embedding table C for the TensorBoard Embedding Projector (load it with metadata.tsv).",
                         **kw)
    d[3].download_button("metadata.tsv", lambda: _projector(holder, r.id, 1), "metadata.tsv", "text/tab-separated-values",
                         key="runs_dl_metadata", disabled=not has_model,
                         help="Each row's character and kind (vowel / consonant / '.' / other), with a header.", **kw)
    d[4].download_button("Model", lambda: _model(holder, r.id), f"{stem}.safetensors", "application/octet-stream",
                         key="runs_dl_model", disabled=not has_model,
                         help="The checkpoint (safetensors): `python -m mlp_lm sample --checkpoint FILE`.", **kw)

    with st.expander("Copy as Python — this run as the lecture's own code, and as a command", icon=":material/code:"):
        try:
            text, cmd = script.for_run(holder.store, r.id)
        except MLPLMError as e:
            st.error(f"This run's settings cannot be turned into a script: {md_literal(e)}")
            return
        if note := script.lr_note(r):
            st.warning(note, icon=":material/info:")
        st.caption("The command retrains the run with the project (it is recorded here as a new run):")
        st.code(cmd, language="bash", wrap_lines=True)
        st.caption("A standalone script in plain PyTorch — the names, the split, `C`, `W1`, `b1`, `W2`, `b2`, the "
                   "loop, the evaluation and sampling — that reproduces this run's losses step for step. "
                   "`MAX_STEPS=1000 python …` runs only its first 1,000 steps.")
        st.download_button("Download the script", text, f"{stem}.py", "text/x-python", key="runs_dl_script",
                           on_click="ignore", icon=":material/download:")
        st.code(text, language="python", line_numbers=True)
