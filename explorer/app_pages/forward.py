"""Forward pass: one example through the current model with its real numbers and shapes, the loss two ways on a
minibatch, and overfitting one batch (makemore part 2's cells, live while a run trains)."""
import streamlit as st

from explorer import forward_view as fv, run_panel
from explorer.model_source import current
from explorer.session import get_holder, live, md_literal, values
from mlp_lm.data import MAX_WORD_LEN
from mlp_lm.errors import MLPLMError
from mlp_lm.walkthrough import EXAMPLE

holder = get_holder()
ss = st.session_state
st.title(":material/account_tree: Forward pass")
st.caption("What the model computes for one example, stage by stage, with the current model's real numbers and each "
           "tensor's shape — the lecture's cells, on your own input. Before any run it shows a fresh init from the "
           "sidebar settings; while a run trains it follows along.")
run_panel.opened_banner(holder, "fwd_close_view")


def model_line(src) -> None:
    live_note = " — follows the run as it trains" if src.status == "running" else ""
    st.caption(f":material/memory: Showing {md_literal(src.label)}{live_note}.")


def source():
    try:
        return current(holder, values(), opened=True)
    except MLPLMError as e:
        st.error(f"The sidebar settings do not make a model: {md_literal(e)}")
        return None


def example_body(name: str, pos: int) -> None:
    src = source()
    if src is not None:
        model_line(src)
        fv.example(src, name, pos)


def two_ways_body() -> None:
    src = source()
    if src is not None:
        model_line(src)
        fv.two_ways_section(src, ss["fwd_batch_seed"])


src = source()
tabs = st.tabs(["One example", "The loss, two ways", "Overfit one batch"], key="fwd_tab", on_change="rerun")
if src is not None and tabs[0].open:
    with tabs[0]:
        c1, c2 = st.columns([1, 2.2])
        name = c1.text_input("Name", EXAMPLE, max_chars=MAX_WORD_LEN, key="fwd_name", persist_state="session",
                             help="Any name in the model's characters; the model reads it one context at a time.")
        name = name.strip()
        try:
            pairs = fv.positions(src, name)
        except MLPLMError as e:
            c2.error(f"{md_literal(name)}: {e}")
        else:
            T = src.model_config.block_size
            pos = c2.pills(f"Which character to predict ({T} characters of context; '.' pads the start and ends the "
                           "name)", range(len(pairs)), default=min(3, len(pairs) - 1), required=True,
                           format_func=lambda i: fv.pair_label(*pairs[i]), key=f"fwd_pos_{T}_{name}")
            live(holder, lambda: example_body(name, int(pos)), key="fwd_live")
if src is not None and tabs[1].open:
    with tabs[1]:
        ss.setdefault("fwd_batch_seed", 0)
        st.button("Another minibatch", key="fwd_new_batch", icon=":material/shuffle:",
                  on_click=lambda: ss.update(fwd_batch_seed=ss["fwd_batch_seed"] + 1))
        live(holder, two_ways_body, key="fwd_two_live")
if src is not None and tabs[2].open:
    with tabs[2]:
        model_line(src)
        fv.overfit_section(src)
