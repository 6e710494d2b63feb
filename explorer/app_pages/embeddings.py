"""Embeddings: the rows of C as labelled points — raw dimensions, PCA, t-SNE — and a character's nearest neighbours."""
import numpy as np
import streamlit as st

from explorer import embedding_chart, projections, run_panel, timeline_panel, tsne_ahead
from explorer.live_chart import live_plotly_chart
from explorer.session import get_holder, live, md_literal

holder = get_holder()
ss = st.session_state
st.title(":material/scatter_plot: Embeddings")
st.caption("Each character is a learned row of the embedding table C. In the lecture's 2-D run (the **2-D "
           "embeddings** preset) the vowels drift together and '.' sits apart; with more dimensions PCA or t-SNE "
           "projects them to 2-D. Updates live while training.")

run_panel.opened_banner(holder, "emb_close_view")
view = holder.view()  # the current run's latest snapshot, or a run opened from the Runs page


def render() -> None:
    itos = list(view.vocab.itos)
    E = view.model_config.emb_dim
    VIEWS = ("raw dimensions", "PCA", "t-SNE")

    def view_changed() -> None:
        ss["emb_view_changed"] = True

    def controls() -> dict:
        """The view's widgets, drawn inside the live fragment: a new view, perplexity or character reruns only it."""
        perplexity = tsne_seed = dx = dy = None
        c1, c2, c3 = st.columns([1.7, 2, 1.2])
        mode = c1.radio("View", VIEWS, key="emb_view", persist_state="session", horizontal=True, on_change=view_changed)
        zoom = c1.toggle("Zoom to the crowded group", key="emb_zoom", persist_state="session",
                         help="Points that pile up (in the 2-D run, most consonants) get their own view. Labels are also "
                              "pushed apart where they would overlap, each joined to its point by a thin line.")
        if mode == "raw dimensions":
            a, b = c2.columns(2)
            dx = a.selectbox("x = dimension", range(E), index=0, key=f"emb_dx_{E}", on_change=view_changed)
            dy = b.selectbox("y = dimension", range(E), index=min(1, E - 1), key=f"emb_dy_{E}",
                              on_change=view_changed)
        elif mode == "t-SNE":
            a, b = c2.columns([3, 1])
            lo, hi = projections.perplexity_range(len(itos))
            if hi > lo:
                perplexity = a.slider("Perplexity (< number of characters)", lo, hi, min(5, hi), key=f"emb_perplexity_{hi}",
                                      help="sklearn's TSNE requires perplexity < the number of points.")
            else:  # 2–4 characters: no range to choose from
                perplexity = min(lo, len(itos) - 1)
                a.caption(f"Perplexity {perplexity:g}: t-SNE's perplexity must stay below the number of points, and with "
                          f"only {len(itos)} characters there is nothing to choose. PCA shows so few points just as well.")
            tsne_seed = b.number_input("Seed", 0, 10_000, 0, key="emb_tsne_seed")
        pick = c3.selectbox("Nearest neighbours of", itos, index=itos.index("a") if "a" in itos else 0, key=f"emb_pick_{len(itos)}",
                            format_func=lambda ch: f"'{ch}'")
        return dict(mode=mode, zoom=zoom, dx=dx, dy=dy, perplexity=perplexity, tsne_seed=tsne_seed, pick=pick)

    k = min(5, len(itos) - 1)

    def body() -> None:
        w = controls()
        mode, zoom, dx, dy, pick = w["mode"], w["zoom"], w["dx"], w["dy"], w["pick"]
        perplexity, tsne_seed = w["perplexity"], w["tsne_seed"]
        if ss.pop("emb_view_changed", False) and ss.get("tl_open"):  # the timeline below, outside this fragment,
            st.rerun(scope="app")                                         # plays the same view: redraw it too
        s = holder.view()
        if s is None or s.key != view.key or s.vocab != view.vocab:  # another model now: the full rerun redraws
            return
        C = s.params["C"].detach().cpu().numpy().astype(np.float64)
        prev_key = f"emb_prev_{mode}_{s.key}"
        prev = ss.get(prev_key)
        if mode == "raw dimensions":
            xy = projections.raw(C, dx, dy)
            xt, yt, title = f"C[:, {dx}]", f"C[:, {dy}]", f"C: dimensions {dx} and {dy} of {E}"
        elif mode == "PCA":
            xy, ratio = projections.pca(C)
            xy = projections.align_signs(prev, xy)
            xt, yt = f"PC1 ({100 * ratio[0]:.1f}% of variance)", f"PC2 ({100 * ratio[1]:.1f}% of variance)"
            title = f"PCA of {E}-D C: {100 * (ratio[0] + ratio[1]):.0f}% of the variance"
        else:
            lo, hi = projections.perplexity_range(len(itos))
            xy = projections.align(prev, tsne_ahead.view(ss, C, perplexity, tsne_seed, training=s.status == "running",
                                                         lo=lo, hi=hi))
            xt, yt, title = "t-SNE 1", "t-SNE 2", f"t-SNE of {E}-D C, perplexity {perplexity:g}"
        labels_key = f"emb_labels_{mode}_{zoom}_{s.key}"
        prev_labels = ss.get(labels_key)
        if prev is not None and prev_labels is not None and prev.shape == xy.shape:
            prev_labels = prev_labels + (xy - prev)  # labels move with their points, then settle
        box, labels, crowded = embedding_chart.embedding_view(xy, zoom=zoom, prev_labels=prev_labels)
        ss[prev_key], ss[labels_key] = xy, labels
        i = itos.index(pick)
        nn = projections.nearest(C, i, k)
        left, right = st.columns([3, 1])
        if zoom and crowded is None:
            left.caption("No group of points crowds together: showing them all.")
        fig = embedding_chart.embedding_figure(xy, itos, x_title=xt, y_title=yt, title=f"{title} · step {s.step:,}",
                                               highlight=i, neighbours=[j for j, _ in nn], labels=labels, view=box)
        # a zoom holds while the points move, until the view changes
        fig["layout"]["uirevision"] = f"{mode}|{zoom}|{dx}|{dy}|{s.key}"
        with left:  # updated in place (Plotly.react), not remade: a refresh or a new perplexity redraws only the points
            live_plotly_chart(fig, key="emb_chart", title="Embedding scatter")
        right.markdown(f"**Closest to {md_literal(repr(pick))}** (cosine, all {E} dims)")
        right.dataframe({"char": [f"'{itos[j]}'" for j, _ in nn], "cosine": [round(sim, 3) for _, sim in nn],
                         "kind": [projections.category(itos[j]) for j, _ in nn]}, hide_index=True)
        right.caption("Vowels red, consonants blue, '.' black. Similar rows mean the model treats the characters as "
                      "interchangeable contexts.")

    if view.opened:  # a stored run does not change: drawn once, no polling
        body()
    else:
        live(holder, body, key="emb_live")


if view is None:
    st.info("No model yet. Press **Start** (or **Reset** to see the untrained, random embeddings) in the sidebar. "
            "Pick the **2-D embeddings** preset to reproduce the lecture's plot exactly.")
else:
    render()
    timeline_panel.draw(holder)  # the embedding timeline: C through training, played in the browser
