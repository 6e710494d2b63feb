"""Data: the names in use, what the model actually sees (contexts → targets), and uploading your own list."""
from collections import Counter

import numpy as np
import streamlit as st

from explorer import charts
from explorer.session import figure, get_holder, md_literal
from mlp_lm.data import build_dataset
from mlp_lm.errors import MLPLMError

holder = get_holder()
ss = st.session_state
st.title(":material/description: Data")
st.caption("One name per line. `.` pads the start of every name and marks its end; each character becomes an "
           "example whose input is the `block_size` characters before it.")


def use_pasted() -> None:
    try:
        holder.load_text(ss.get("data_paste", ""))
    except MLPLMError as e:
        ss["data_error"] = str(e)
    else:
        ss.pop("data_error", None)


def use_default() -> None:
    holder.use_default()
    ss.pop("data_error", None)


def use_upload() -> None:
    """Upload callback: runs before the rerun, so the sidebar (drawn first) already names the new file."""
    up = ss.get("data_upload")
    if up is None or up.file_id == holder.last_upload:
        return
    try:
        holder.load_upload(up.name, up.getvalue(), up.file_id)  # bytes stay in memory; nothing is written to disk
    except MLPLMError:
        pass  # holder.last_upload_error keeps the message while this file stays in the uploader


up = st.file_uploader("Use your own names: upload a text file, one name per line (UTF-8, ≤ 5 MB)", key="data_upload",
                      on_change=use_upload)
if up is not None and up.file_id != holder.last_upload:  # e.g. the file came before this page's callback existed
    use_upload()
if up is not None and up.file_id == holder.last_upload and holder.last_upload_error:
    st.error(md_literal(f"{up.name}: {holder.last_upload_error}. Still using {holder.names.name}."))
with st.expander("…or paste a list, or go back to the default names", expanded=False):
    st.text_area("Names, one per line", key="data_paste", height=120, placeholder="emma\nolivia\nava\n…")
    a, b, _ = st.columns([1, 1, 3])
    a.button("Use pasted names", key="data_use_paste", on_click=use_pasted)
    b.button("Use the default names.txt", key="data_use_default", on_click=use_default)
if ss.get("data_error"):
    st.error(md_literal(f"{ss['data_error']}. Still using {holder.names.name}."))

names = holder.names
block_size = int(ss["block_size"])
ds = holder.dataset(block_size)
words = list(names.words)
lengths = [len(w) for w in words]
itos = list(ds.vocab.itos)
if holder.run_names is not None and holder.run_names.fingerprint != names.fingerprint:
    st.warning(f"The run in progress trains on {md_literal(holder.run_names.name)}; these names apply on the next run (Reset/Start).")

st.subheader(md_literal(names.name), anchor=False)
m = st.columns(5)
m[0].metric("Names", f"{len(words):,}")
m[1].metric("Characters", f"{sum(lengths):,}")
m[2].metric("Vocabulary", f"{len(itos)}", help="Distinct characters plus '.'")
m[3].metric("Mean length", f"{sum(lengths) / len(words):.2f}")
m[4].metric("Longest", f"{max(lengths)}")

left, right = st.columns(2)
with left:
    st.markdown("**Name lengths**")
    st.plotly_chart(figure(charts.length_histogram, np.asarray(lengths)), key="data_lengths", config={"displaylogo": False})
with right:
    st.markdown("**Characters** (the vocabulary, `itos`)")
    counts = Counter("".join(words))
    counts["."] = len(words)  # '.' ends every name once (as a target)
    st.plotly_chart(figure(charts.char_counts_figure, itos, [counts.get(c, 0) for c in itos]), key="data_chars",
                    config={"displaylogo": False})
st.code("itos = " + repr({i: c for i, c in enumerate(itos)}), language="python", wrap_lines=True)

st.subheader(f"What the model sees (block_size = {block_size})")
k = st.slider("First names", 1, min(10, len(words)), min(1, len(words)), key="data_first", persist_state="session")
X, Y = build_dataset(words[:k], block_size, ds.vocab)
lines = [f"{''.join(itos[i] for i in x)} ---> {itos[y]}" for x, y in zip(X.tolist(), Y.tolist())]
st.code("\n".join(lines), language=None)
st.caption("The lecture's loop: `context = [0] * block_size`, then for each character of the name + '.': "
           "print the context, '--->', the character; shift it in.")

st.subheader("Splits (the lecture's 80 / 10 / 10 of shuffled names, seed 42)")
n_tr, n_dev, n_te = ds.split_sizes
st.dataframe({"split": ["train", "dev", "test"],
              "names": [len(ds.train_words), len(ds.dev_words), len(ds.test_words)],
              "examples (X, Y rows)": [n_tr, n_dev, n_te]}, hide_index=True)
