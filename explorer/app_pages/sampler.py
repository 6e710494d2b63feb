"""Sampler: names from the model, where they come from, and the distribution behind every character."""
import numpy as np
import streamlit as st

from explorer import charts, run_panel, sampler_charts
from explorer.session import figure, get_holder, live, md_literal
from mlp_lm.errors import MLPLMError
from mlp_lm.export import samples_csv
from mlp_lm.sampler import SAMPLE_SEED, label, next_step, sample, score

holder = get_holder()
ss = st.session_state
st.title(":material/casino: Sampler")
st.caption("The lecture's loop: start from `block_size` dots, look at the next-character distribution, draw one, "
           "shift it into the context, stop at '.'. Temperature, top-k and top-p reshape the distribution first.")

run_panel.opened_banner(holder, "samp_close_view")
view = holder.view()  # the current run's latest snapshot, or a run opened from the Runs page
PLOT_CONFIG = {"displaylogo": False, "displayModeBar": False}  # nothing to zoom in a bar chart; no toolbar over a title


def _model_caption() -> None:
    v = holder.view()
    st.caption(f"Model: {md_literal(v.label)}, step {v.step:,} ({v.status}) — samples use the latest parameters.")


def render() -> None:
    ds = view.dataset  # None: a stored run whose names are unknown (its samples cannot be labelled)
    vocab, itos = view.vocab, list(view.vocab.itos)
    V, bs = len(itos), view.model_config.block_size
    WHERE = {"train": "in-train", "dev/test": "dev/test", "novel": "novel"}

    def where_of(names) -> list[str]:
        return [WHERE[w] for w in label(names, ds)] if ds is not None else ["unknown"] * len(names)

    if not view.opened:  # an opened run is named in the banner above; the current run's step follows it as it trains
        live(holder, _model_caption, key="samp_model")

    c = st.columns([1.1, 1.5, 1, 1, 1])  # the seed's box shows all ten digits
    n = c[0].number_input("Names", 1, 100, 20, key="samp_n", persist_state="session")
    seed = c[1].number_input("Seed", 0, 2**32 - 1, SAMPLE_SEED, key="samp_seed", persist_state="session",
                             help=f"{SAMPLE_SEED} is the notebook's sampling seed (2147483647 + 10).")
    temperature = c[2].slider("Temperature", 0.05, 3.0, 1.0, step=0.05, key="samp_temp", persist_state="session")
    top_k = c[3].slider("Top-k (0 = off)", 0, V, 0, key=f"samp_topk_{V}")
    top_p = c[4].slider("Top-p (1 = off)", 0.05, 1.0, 1.0, step=0.05, key="samp_topp", persist_state="session")
    filters = dict(temperature=float(temperature), top_k=int(top_k) or None, top_p=float(top_p) if top_p < 1.0 else None)

    def generate() -> None:
        s = holder.view()
        try:
            samples = sample(s.params, vocab, bs, int(n), seed=int(seed), max_len=50, **filters)
        except MLPLMError as e:
            ss["samp_error"] = str(e)
            return
        ss.pop("samp_error", None)
        ss["samples"] = dict(samples=samples, where=where_of([x.name for x in samples]), run=s.label, step=s.step,
                             itos=itos)

    def next_char() -> None:
        st_ = ss.get("stepper")
        if st_ is None or st_["run"] != view.key or st_["done"]:
            st_ = dict(run=view.key, prefix="", steps=[], done=False)
        try:
            step = next_step(holder.view().params, vocab, bs, st_["prefix"], seed=int(seed), **filters)
        except MLPLMError as e:
            ss["samp_error"] = str(e)
            return
        ss.pop("samp_error", None)
        st_["steps"].append(step)
        if step.chosen == 0 or len(st_["steps"]) >= 50:
            st_["done"] = True
        else:
            st_["prefix"] += step.char
        ss["stepper"] = st_

    def restart() -> None:
        ss.pop("stepper", None)

    @st.fragment  # choosing a name or a step redraws only this part of the page
    def look_inside(samples, where) -> None:
        k = st.selectbox("Look inside", range(len(samples)), key="samp_pick",
                         format_func=lambda i: f"{samples[i].name or '(empty)'} — {where[i]}")
        chosen = samples[k]
        steps = chosen.steps
        st.markdown(f"**{md_literal(chosen.name) or '(empty)'}**, step by step: each row is the distribution over the "
                    "next character given the context on the left; the character drawn is outlined in orange.")
        j = st.segmented_control("Step", range(len(steps)), default=0, required=True, key=f"samp_sel_{k}_{len(steps)}",
                                 format_func=lambda i: md_literal(f"{i + 1}: {charts.show_char(steps[i].char)}"),
                                 help="Pick a step to see its whole distribution as bars below.")
        j = 0 if j is None else int(j)
        st.plotly_chart(figure(sampler_charts.steps_heatmap, [t.context for t in steps], [t.char for t in steps],
                               np.stack([t.probs for t in steps]), [t.chosen for t in steps], itos, selected=j),
                        key="samp_heatmap", config=PLOT_CONFIG)
        t = steps[j]
        st.plotly_chart(figure(sampler_charts.next_char_figure, t.probs, itos, t.chosen,
                               title=f"Step {j + 1} of {len(steps)}: context '{t.context}' → drew "
                                     f"'{charts.show_char(t.char)}' (p = {t.p:.3f})"), key="samp_bars", config=PLOT_CONFIG)

    def error() -> None:
        if ss.get("samp_error"):
            st.error(md_literal(ss["samp_error"]))

    @st.fragment  # Generate redraws only this tab
    def generate_tab() -> None:
        st.button("Generate", key="samp_generate", type="primary", on_click=generate)
        error()
        got = ss.get("samples")
        if got is None or got["itos"] != itos:
            st.info("Press **Generate** to draw names with the settings above.")
            return
        samples, where = got["samples"], got["where"]
        counts = {w: where.count(w) for w in WHERE.values()}
        st.caption(f"From {md_literal(got['run'])} at step {got['step']:,} · " + " · ".join(f"{v} {k}" for k, v in counts.items())
                   + " — *in-train*: the name is in the training split; *dev/test*: only in a held-out split; "
                     "*novel*: in no split.")
        st.dataframe({"name": [x.name + ("" if x.ended else "…") for x in samples], "where": where,
                      "length": [len(x.name) for x in samples],
                      "mean p per char": [round(float(np.mean([t.p for t in x.steps])), 3) for x in samples]},
                     hide_index=True, height=min(36 * (len(samples) + 1), 400))
        st.download_button("Download the names with their labels (CSV)", samples_csv([x.name for x in samples], where),
                           "sampled-names.csv", "text/csv", key="samp_download", on_click="ignore",
                           icon=":material/download:", help="name,where — one row per name drawn.")
        look_inside(samples, where)

    @st.fragment  # Next character redraws only this tab
    def step_tab() -> None:
        a, b, _ = st.columns([1, 1, 4])
        a.button("Next character", key="samp_next", type="primary", on_click=next_char)
        b.button("Start over", key="samp_restart", on_click=restart)
        error()
        stp = ss.get("stepper")
        if stp is None or stp["run"] != view.key or not stp["steps"]:
            st.info("Press **Next character**: the model looks at the context, shows its distribution over the next "
                    "character, and draws one. Repeat until it draws '.'. Uses the latest parameters, even mid-training.")
            return
        last = stp["steps"][-1]
        shown = "." * bs + stp["prefix"] + ("." if stp["done"] else "")
        st.markdown(f"### {md_literal(shown)}" + ("  :material/check_circle: done" if stp["done"] else ""))
        st.plotly_chart(figure(sampler_charts.next_char_figure, last.probs, itos, last.chosen,
                               title=f"step {len(stp['steps'])}: context '{last.context}' → drew "
                                     f"'{charts.show_char(last.char)}' (p = {last.p:.3f})"),
                        key="samp_step_bars", config=PLOT_CONFIG)
        st.caption(md_literal(" → ".join(f"'{t.char}' ({t.p:.2f})" for t in stp["steps"])))

    # Only the open tab is drawn (a tab switch reruns the page): the hidden tabs' charts cost a rerun nothing.
    tab_gen, tab_step, tab_score = st.tabs(["Generate", "Step by step", "Score a name"], key="samp_tab",
                                           on_change="rerun")
    if tab_gen.open:
        with tab_gen:
            generate_tab()
    if tab_step.open:
        with tab_step:
            step_tab()
    if not tab_score.open:
        return
    with tab_score:
        default = "emma" if all(ch in vocab.stoi for ch in "emma") else (ds.words[0] if ds is not None else itos[1])
        typed = st.text_input("Type a name", default, key="samp_typed", persist_state="session", max_chars=64)
        if typed.strip():
            try:
                sc = score(view.params, vocab, bs, typed.strip())
            except MLPLMError as e:
                st.error(md_literal(e))
            else:
                m = st.columns(3)
                m[0].metric("−log likelihood", f"{sc.nll:.3f}")
                m[1].metric("per character", f"{sc.mean_nll:.3f}", help="Comparable with the training/dev loss.")
                m[2].metric("where", where_of([sc.name])[0])
                st.plotly_chart(figure(sampler_charts.score_figure, sc.chars, sc.contexts, sc.probs, V), key="samp_score_chart",
                                config=PLOT_CONFIG)


if view is None:
    st.info("No model yet. Press **Start** in the sidebar (a few seconds of training already gives name-like "
            "samples), or **Reset** to sample from the untrained model.")
else:
    render()
