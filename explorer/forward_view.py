"""The Forward pass page's sections (Streamlit): one example stage by stage, the loss two ways on a minibatch, and
overfitting one batch. The numbers come from mlp_lm.walkthrough / mlp_lm.overfit on the model explorer.model_source
picks (the current run's latest parameters, or a fresh init before any run); the figures from forward_charts.py.

Each section draws from one cached computation keyed on the model's `Source.key`, so a refresh that finds the same
parameters recomputes nothing; the live figures update in place (explorer.live_chart).
"""
from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from mlp_lm.errors import MLPLMError
from mlp_lm.overfit import FIRST_FIVE, overfit
from mlp_lm.walkthrough import contexts, two_ways, walk

from . import forward_charts as fc
from .charts import show_char
from .live_chart import live_plotly_chart
from .session import md_literal

BATCH = 32          # the lecture's minibatch
OFFSET = 100.0      # the lecture's numerical-stability demo: every logit + 100


def _memo(slot: str, key, make):
    """make() once per key, kept in the session (one entry per slot)."""
    ss = st.session_state
    hit = ss.get(slot)
    if hit is not None and hit[0] == key:
        return hit[1]
    value = make()
    ss[slot] = (key, value)
    return value


def positions(src, name: str) -> list[tuple[str, str]]:
    """(context, next character) for each position of name + '.'; raises MLPLMError with the core's one line for a
    name the model cannot read ('.' inside, characters outside the vocabulary)."""
    walk(src.params, src.dataset.vocab, name, 0)  # the core's checks and messages (~0.5 ms)
    return contexts(name, src.dataset.vocab, src.model_config.block_size)


def pair_label(ctx: str, ch: str) -> str:
    return md_literal(f"'{ctx}' → {show_char(ch)}")  # a pills option: Markdown, and the context is user text


def _stage(title: str, code: str):
    """A stage's heading (Markdown: callers escape user text in it with md_literal) and the lecture's code on the left;
    returns the right-hand column for what it means."""
    st.markdown(f"**{title}**")
    left, right = st.columns([1.15, 1], gap="medium")
    left.code(code, language="python", wrap_lines=True)
    return right


def example(src, name: str, position: int) -> None:
    """The forward pass of one example, stage by stage: the lecture's code, what it means, then the tensors."""
    w = _memo("fwd_walk", (src.key, name, position), lambda: walk(src.params, src.dataset.vocab, name, position))
    T, E = w.C_rows.shape
    V, H = w.onehot.shape[1], w.h.shape[1]
    ix = ", ".join(str(int(i)) for i in w.ix)
    chars = ", ".join(f"{show_char(c)!r}" for c in w.context)
    note = _stage(f"1 · Embed the context {md_literal(repr(w.context))} to predict {md_literal(repr(show_char(w.target)))}",
                  f"X = torch.tensor([[{ix}]])  # (1, {T})\n"
                  f"emb = C[X]  # C ({V}, {E}) → emb (1, {T}, {E})\n"
                  "# the same rows, the lecture's first way:\n"
                  f"F.one_hot(X, num_classes={V}).float() @ C")
    same = bool(np.array_equal(w.onehot_C, w.C_rows))
    note.markdown(f"`X` holds `stoi` of {md_literal(chars)}; `C[X]` picks those rows of the embedding table C.")
    note.markdown(f"A one-hot row times C picks the same row: `one_hot @ C == C[X]` → **{same}**. Indexing is the "
                  "same layer, only faster.")
    live_plotly_chart(fc.embedding_spec(w), key="fwd_embed", title="one-hot and C[X]")

    (s0, s1) = w.view_strides
    note = _stage("2 · Flatten, then the tanh layer",
                  f"emb.view(-1, {T * E})  # (1, {T}, {E}) → (1, {T * E})\n"
                  f"hpreact = emb.view(-1, {T * E}) @ W1 + b1  # W1 ({T * E}, {H})\n"
                  f"h = torch.tanh(hpreact)  # (1, {H})")
    note.markdown(f"**Why `view`, not `cat`:** `.view` only changes the shape and reuses `C[X]`'s memory (shares "
                  f"storage: **{w.view_shares_storage}**; strides {s0} → {s1}), free at any size. "
                  f"`torch.cat(torch.unbind(emb, 1), 1)` gives the same numbers "
                  f"(**{bool(np.array_equal(w.emb, w.emb_cat))}**) but allocates new memory and copies them "
                  f"(shares storage: **{w.cat_shares_storage}**).")
    note.markdown(f"**{w.n_saturated} of {H}** hidden units saturated (|h| > 0.97): tanh is flat there, its "
                  "gradient 1 − h² is below 0.06, and the unit barely learns from this example.")
    live_plotly_chart(fc.layer_spec(w), key="fwd_layer", title="emb, hpreact and h")

    note = _stage("3 · Logits → counts → probabilities → the loss",
                  f"logits = h @ W2 + b2  # W2 ({H}, {V}) → (1, {V})\n"
                  "counts = logits.exp()  # all > 0\n"
                  "probs = counts / counts.sum(1, keepdims=True)\n"
                  f"Y = stoi[{w.target!r}]  # {w.target_ix}\n"
                  "loss = -probs[0, Y].log()")
    note.markdown(f"The true next character {md_literal(repr(show_char(w.target)))} gets "
                  f"**p = {fc.fmt_p(w.p_target)}**, so this example's loss is −log p = **{w.loss:.4f}**.")
    note.caption(f"Even odds over the {V} characters would give −ln(1/{V}) = {np.log(V):.4f}; a confident right "
                 "answer, close to 0.")
    live_plotly_chart(fc.output_spec(w), key="fwd_output", title="logits, counts and probabilities")


def minibatch(ds, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The lecture's `ix = torch.randint(0, Xtr.shape[0], (32,))`, from its own generator."""
    ix = torch.randint(0, len(ds.Ytr), (BATCH,), generator=torch.Generator().manual_seed(int(seed)))
    return ds.Xtr[ix], ds.Ytr[ix]


def two_ways_section(src, seed: int) -> None:
    """Manual softmax → log → mean against F.cross_entropy, and the +100 offset that breaks only the manual way."""
    def make():
        X, Y = minibatch(src.dataset, seed)
        return two_ways(src.params, X, Y), two_ways(src.params, X, Y, OFFSET)

    plain, shifted = _memo("fwd_two", (src.key, seed), make)
    T, E = src.model_config.block_size, src.model_config.emb_dim
    left, right = st.columns([1.25, 1], gap="medium")
    left.markdown("**By hand** (the lecture's first version)")
    left.code(f"emb = C[Xb]  # ({BATCH}, {T}, {E})\n"
              f"h = torch.tanh(emb.view(-1, {T * E}) @ W1 + b1)\n"
              "logits = h @ W2 + b2\n"
              "counts = logits.exp()\n"
              "prob = counts / counts.sum(1, keepdims=True)\n"
              f"loss = -prob[torch.arange({BATCH}), Yb].log().mean()", language="python", wrap_lines=True)
    right.markdown("**With PyTorch**")
    right.code("loss = F.cross_entropy(logits, Yb)", language="python")
    right.markdown(f"Same minibatch of {plain.batch} examples, same model:")
    a, b = right.columns(2)
    a.metric("by hand", f"{plain.manual:.6f}")
    b.metric("F.cross_entropy", f"{plain.cross_entropy:.6f}")
    if plain.equal:
        right.success("Equal (to float32 rounding): the same loss, two ways.", icon=":material/check_circle:")
    else:
        right.warning("Not equal: the manual way overflowed even without an offset (logits above ~88.7).",
                      icon=":material/warning:")
    st.markdown(f"**Numerical stability:** `logits = h @ W2 + b2 + {OFFSET:g}` changes no probability (softmax ignores "
                "a constant added to every logit), but `exp` of a logit above ~88.7 is beyond float32's range.")

    def fmt(v: float) -> str:
        return "inf" if v == np.inf else "nan" if not np.isfinite(v) else f"{v:.4g}" if abs(v) >= 1e4 else f"{v:.4f}"

    rows = [("logits as computed", plain), (f"logits + {OFFSET:g}", shifted)]
    st.markdown("| | largest logit | largest count | counts = inf | probs = nan | loss by hand | F.cross_entropy |\n"
                "|---|---:|---:|---:|---:|---:|---:|\n" +
                "\n".join(f"| {label} | {r.max_logit:.2f} | {fmt(r.max_count)} | {r.inf_counts:,} | {r.nan_probs:,} | "
                          f"**{fmt(r.manual)}** | **{fmt(r.cross_entropy)}** |" for label, r in rows))
    st.caption("F.cross_entropy subtracts the largest logit before `exp` (the result is the same, the numbers stay "
               "small), never builds the intermediate tensors, and has a simpler backward pass — the lecture's three "
               "reasons to use it.")


def _run_overfit(model_cfg, vocab, key) -> None:
    """Button callback: train a fresh model on the five names (never the session's run) and keep the result."""
    ss = st.session_state
    try:
        with st.spinner("Training 1,000 steps on 32 examples…"):
            ss["overfit"] = (key, overfit(model_cfg, vocab))
        ss.pop("overfit_error", None)
    except MLPLMError as e:
        ss["overfit_error"] = (key, str(e))


def followers(pairs) -> str:
    """"e, o, a, i, s" when each follows once, else "a ×2, e ×1"."""
    if all(n == 1 for _, n in pairs):
        return ", ".join(show_char(ch) for ch, _ in pairs)
    return ", ".join(f"{show_char(ch)} ×{n}" for ch, n in pairs)


def overfit_section(src) -> None:
    """One click: the lecture's sanity check on the current model size, its floor and why it is not zero."""
    mc, vocab = src.model_config, src.dataset.vocab
    key = (mc, tuple(vocab.itos))
    st.markdown(f"The lecture's sanity check: a fresh model of this size ({mc.block_size} characters of context, "
                f"{mc.emb_dim}-D embeddings, {mc.hidden} hidden units, {mc.n_params:,} parameters) trained on the "
                f"first five names only — {', '.join(FIRST_FIVE)} — every example in every step (Adam, 1,000 steps). "
                "With far more parameters than examples it should fit them almost perfectly. The run in the sidebar "
                "is not touched.")
    st.button("Overfit one batch", key="overfit_btn", icon=":material/model_training:", type="primary",
              on_click=_run_overfit, args=(mc, vocab, key))
    ss = st.session_state
    err = ss.get("overfit_error")
    if err and err[0] == key:
        st.error(err[1])
    hit = ss.get("overfit")
    if not hit or hit[0] != key:
        return
    r = hit[1]
    a, b, c, d = st.columns(4)
    a.metric("examples", f"{r.n_examples}")
    b.metric("final loss", f"{r.final_loss:.4f}")
    c.metric("floor (exact)", f"{r.floor:.4f}", help="The mean over the examples of −log(how often its next character "
             "follows its context among them): no model can do better.")
    d.metric("above the floor", f"{r.gap:.4f}" if abs(r.gap) >= 1e-3 else f"{r.gap:.1e}", help=f"Trained in {r.seconds:.2f} s.")
    left, right = st.columns([1.45, 1], gap="medium")
    left.plotly_chart(fc.overfit_figure(r.steps, r.losses, r.floor, r.final_loss, r.n_examples), key="overfit_chart",
                      config={"displaylogo": False})
    right.markdown("**Why not zero:** these contexts are followed by more than one character, so no prediction can "
                   "be right for all of them; the best is each character's share.")
    right.dataframe({"context": [f"'{row.context}'" for row in r.contexts],
                     "seen": [row.seen for row in r.contexts],
                     "followed by": [followers(row.followers) for row in r.contexts],
                     "best loss": [round(row.best_loss, 4) for row in r.contexts]}, hide_index=True)
    right.caption(f"Best loss: −Σ (n/seen)·log(n/seen) over the followers, in nats. Floor = Σ seen × best loss ÷ "
                  f"{r.n_examples} examples = {r.floor:.4f}; every other context has one follower and costs nothing "
                  "once fitted.")
