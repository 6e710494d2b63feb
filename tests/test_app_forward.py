"""The Forward pass page through AppTest (issue 10 §1, §4): before any run (a fresh init from the sidebar), after
Reset, while a run trains and after it, the numbers and tensors shown are the walkthrough's for the model of that
moment; the loss two ways and the +100 overflow; a bad name; overfitting one batch without touching the run.

Every test ends by clearing st.cache_resource — a closing tab — and checking that no trainer thread is left.
"""
import numpy as np
import pytest

from app_helpers import (click, finish, holder, live_figures, new_app, numbers, plotly_figures, poll, run, sidebar_params,
                         small, texts)
from explorer.forward_view import minibatch
from mlp_lm.data import DEFAULT_DATA, load_words, make_dataset
from mlp_lm.walkthrough import two_ways, walk

pytestmark = pytest.mark.usefixtures("warm_kernel", "released_sessions")
PAGE = "app_pages/forward.py"


@pytest.fixture(scope="module")
def default_ds():
    return make_dataset(load_words(DEFAULT_DATA), 3)


def shown_matches(at, params, vocab, name="emma", position=3):
    """The page's numbers and tensors are those of walk(params, …) — the p and loss it writes, C[X], h, probs."""
    w = walk(params, vocab, name, position)
    text = texts(at)
    assert f"this example's loss is −log p = **{w.loss:.4f}**" in text, text
    figs = live_figures(at)
    emb, layer, out = figs["one-hot and C[X]"], figs["emb, hpreact and h"], figs["logits, counts and probabilities"]
    np.testing.assert_allclose(np.array(emb["data"][1]["z"], dtype=float), w.C_rows, rtol=1e-6)
    np.testing.assert_array_equal(np.array(emb["data"][0]["z"], dtype=float), w.onehot)
    np.testing.assert_allclose(np.array(layer["data"][2]["z"], dtype=float), w.h, rtol=1e-6)
    np.testing.assert_allclose(np.array(out["data"][2]["y"], dtype=float), w.probs[0], rtol=1e-6)
    assert f"{w.n_saturated} of {w.h.shape[1]}" in text
    return w


def test_before_any_run_the_page_shows_the_fresh_init_start_would_train(default_ds):
    at = new_app(PAGE)
    assert holder().snapshot() is None
    assert "no run yet: a fresh init from the sidebar settings" in texts(at)
    w = shown_matches(at, sidebar_params(at), default_ds.vocab)
    assert (w.context, w.target) == ("emm", "a")  # the lecture's example by default
    assert "`one_hot @ C == C[X]` → **True**" in texts(at)
    assert "shares storage: **True**" in texts(at) and "shares storage: **False**" in texts(at)  # view vs cat


def test_after_reset_it_shows_the_idle_run_and_follows_a_run_as_it_trains(default_ds):
    at = small(new_app(PAGE), steps=3_000_000, eval_every=500)
    click(at, "btn_reset")
    snap = holder().snapshot()
    assert snap.status == "idle" and "run 1 · step 0" in texts(at)
    shown_matches(at, snap.params, holder().run_dataset().vocab)
    start = walk(snap.params, default_ds.vocab, "emma", 3)
    click(at, "btn_start")
    assert poll(at, lambda: holder().snapshot().step > 5_000), "the run did not train"
    assert "(running) — follows the run as it trains" in texts(at)
    click(at, "btn_pause")
    snap = holder().snapshot()
    assert snap.status == "paused"
    run(at)
    w = shown_matches(at, snap.params, holder().run_dataset().vocab)
    assert f"step {snap.step:,}" in texts(at)
    assert abs(w.loss - start.loss) > 1e-3, "the page still shows the parameters from before training"
    click(at, "btn_stop")


def test_after_a_run_it_shows_the_final_model_and_a_name_of_ones_own(default_ds):
    at = finish(small(new_app(PAGE)))
    snap = holder().snapshot()
    shown_matches(at, snap.params, holder().run_dataset().vocab)
    at.text_input(key="fwd_name").set_value("olivia")
    run(at)
    at.session_state["fwd_pos_3_olivia"] = 6  # 'via' → '.'
    run(at)
    w = shown_matches(at, snap.params, holder().run_dataset().vocab, "olivia", 6)
    assert (w.context, w.target) == ("via", ".")
    at.text_input(key="fwd_name").set_value("Émile!")
    run(at)
    (err,) = at.error
    assert "not in the vocabulary" in err.value and "É" in err.value


def test_the_loss_two_ways_and_the_plus_100_overflow(default_ds):
    at = new_app(PAGE)
    at.session_state["fwd_tab"] = "The loss, two ways"
    run(at)
    params = sidebar_params(at)
    X, Y = minibatch(default_ds, 0)
    plain, shifted = two_ways(params, X, Y), two_ways(params, X, Y, 100.0)
    shown = {m.label: m.value for m in at.metric}
    assert shown["by hand"] == f"{plain.manual:.6f}" and shown["F.cross_entropy"] == f"{plain.cross_entropy:.6f}"
    assert plain.equal and any("Equal (to float32 rounding)" in s.value for s in at.success)
    table = next(m.value for m in at.markdown if "largest logit" in m.value)
    row = next(line for line in table.splitlines() if line.startswith("| logits + 100"))
    assert "| inf |" in row and "**nan**" in row and f"**{shifted.cross_entropy:.4f}**" in row
    assert np.isfinite(shifted.cross_entropy) and not np.isfinite(shifted.manual) and shifted.inf_counts > 0
    click(at, "fwd_new_batch")
    other = two_ways(params, *minibatch(default_ds, 1))
    assert {m.label: m.value for m in at.metric}["by hand"] == f"{other.manual:.6f}" != shown["by hand"]


def test_overfit_one_batch_reaches_its_floor_without_touching_the_run():
    at = small(new_app(PAGE), steps=3_000_000)
    click(at, "btn_start")
    assert poll(at, lambda: holder().snapshot().step > 0)
    run_id, trainer = holder().run_id, holder().trainer
    at.session_state["fwd_tab"] = "Overfit one batch"
    run(at)
    step_before = holder().snapshot().step
    click(at, "overfit_btn")
    shown = {m.label: float(m.value) for m in at.metric if m.label in ("final loss", "floor (exact)")}
    assert abs(shown["final loss"] - shown["floor (exact)"]) <= 0.05 and shown["floor (exact)"] > 0.2
    table = at.dataframe[0].value
    row = table[table["context"] == "'...'"]
    assert len(row) == 1 and row["seen"].iloc[0] == 5 and row["followed by"].iloc[0] == "e, o, a, i, s"
    (fig,) = [f for f in plotly_figures(at) if f["data"] and f["data"][0].get("name") == "loss on the batch"]
    assert numbers(fig["data"][0]["y"]).min() >= shown["floor (exact)"] - 1e-3  # falls to the floor, never below (nor to 0)
    # the session's run went on, untouched
    assert holder().run_id == run_id and holder().trainer is trainer
    assert poll(at, lambda: holder().snapshot().step > step_before and holder().snapshot().status == "running")
    click(at, "btn_stop")
