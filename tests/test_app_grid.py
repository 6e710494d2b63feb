"""The Hyperparameter search page through AppTest: the scaling example in one click, a small search whose table and
charts fill in, Stop, bad values, and the session's search thread ended with the session.

AppTest never fires `run_every`, so the page is polled with repeated `at.run()`. Runs go to a temporary store.
"""
import json
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from explorer.grid_view import OPEN_GRIDS, THREAD_NAME, build_spec  # noqa: E402
from mlp_lm.errors import ConfigError  # noqa: E402
from mlp_lm.runs import RUNS_ENV, RunStore  # noqa: E402

APP = str(ROOT / "explorer" / "main.py")  # the script each session runs (app.py serves it)
PAGE = "app_pages/grid.py"
pytestmark = pytest.mark.usefixtures("warm_kernel", "released_sessions", "released_grids")


@pytest.fixture
def runs_dir(tmp_path, monkeypatch):
    d = tmp_path / "runs"
    monkeypatch.setenv(RUNS_ENV, str(d))
    return d


@pytest.fixture
def released_grids():
    """After the test: end the session (as a closed tab does) and require its search thread gone."""
    yield
    import threading

    import streamlit as st

    st.cache_resource.clear()  # on_release → GridSession.close → stop + join
    assert not [t for t in threading.enumerate() if t.name == THREAD_NAME and t.is_alive()], "a search thread was left"
    assert not list(OPEN_GRIDS), "a search session was not released"


def grid_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def session():
    (g,) = list(OPEN_GRIDS)
    return g


def type_values(at: AppTest, **values) -> AppTest:
    for k, v in values.items():
        (at.multiselect if isinstance(v, list) else at.text_input)(key=f"grid_{k}").set_value(v)
    at.run()
    assert not at.exception, at.exception
    return at


def wait_done(at: AppTest, timeout: float = 120) -> None:
    end = time.time() + timeout
    while session().snapshot().running and time.time() < end:
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    assert not session().snapshot().running, "the search never ended"
    at.run()


def preview(at: AppTest) -> str:
    return " ".join(m.value for m in at.main.markdown)  # the line beside Run: "**6 trials** over …" or the error


def test_the_page_renders_and_loads_the_lecture_scaling_experiment():
    at = grid_page()
    assert at.title[0].value.endswith("Hyperparameter search")
    assert any("Run" in i.value for i in at.info)
    at.button(key="grid_scaling").click().run()
    assert at.text_input(key="grid_hidden").value == "100, 200, 300"
    assert at.text_input(key="grid_emb_dim").value == "2, 10" and at.text_input(key="grid_block_size").value == "3"
    assert at.multiselect(key="grid_optimizer").value == ["sgd"]
    assert "6 trials" in preview(at) and "hidden units" in preview(at) and "embedding dim" in preview(at)
    assert not at.button(key="grid_run").disabled
    # the spec the page builds is the lecture's: 200,000 SGD steps, 0.1 → 0.01 half way, batch 32, block 3
    trials = build_spec({k: at.session_state[f"grid_{k}"] for k in ("block_size", "emb_dim", "hidden", "init", "steps",
                         "batch_size", "optimizer", "lr", "lr2", "decay_step", "schedule", "weight_decay", "seed")},
                        {k: at.session_state[k] for k in ("block_size", "emb_dim", "hidden", "init", "steps",
                         "batch_size", "optimizer", "lr", "lr2", "decay_step", "schedule", "weight_decay", "seed")}
                        ).expand()
    assert {(t["hidden"], t["emb_dim"]) for t in trials} == {(h, e) for h in (100, 200, 300) for e in (2, 10)}
    assert all((t["block_size"], t["steps"], t["decay_step"], t["lr"], t["lr2"], t["batch_size"], t["optimizer"]) ==
               (3, 200_000, None, 0.1, 0.01, 32, "sgd") for t in trials)


def test_a_search_fills_the_table_sorted_by_dev_loss_with_charts_and_csv(runs_dir):
    at = type_values(grid_page(), hidden="8, 16", emb_dim="2, 4", steps="300", optimizer=["adam"], lr="0.01")
    assert "4 trials" in preview(at)
    at.button(key="grid_run").click().run()
    assert not at.exception and session().snapshot().running
    assert at.button(key="grid_run").disabled and not at.button(key="grid_stop").disabled
    wait_done(at)
    snap = session().snapshot()
    assert snap.status == "finished" and len(snap.results) == 4
    df = at.dataframe[0].value
    assert len(df) == 4 and list(df["dev_loss"]) == sorted(df["dev_loss"])
    assert set(zip(df["hidden"], df["emb_dim"])) == {(8, 2), (8, 4), (16, 2), (16, 4)}
    assert set(df["status"]) == {"finished"}
    store = RunStore(runs_dir)
    assert {store.get(r).sweep for r in df["run"]} == {snap.sweep}  # every trial is a run of this search
    figs = [json.loads(el.proto.spec) for el in at.get("plotly_chart")]
    per_setting, parallel = figs
    assert len(per_setting["data"]) == 2  # one panel per searched setting
    (pc,) = parallel["data"]
    assert pc["type"] == "parcoords" and [d["label"] for d in pc["dimensions"]] == ["embedding dim", "hidden units",
                                                                                     "dev loss"]
    csv = next(el for el in at.get("download_button") if el.proto.label == "Download CSV")
    assert csv is not None
    assert not at.button(key="grid_run").disabled and at.button(key="grid_stop").disabled


def test_stop_from_the_page_ends_the_search(runs_dir):
    at = type_values(grid_page(), hidden="8, 16, 24, 32", steps="5000000")
    at.button(key="grid_run").click().run()
    store = RunStore(runs_dir)
    end = time.time() + 120
    while time.time() < end and not [r for r in store.list()[0] if r.status == "running" and r.step > 0]:
        time.sleep(0.3)
    at.button(key="grid_stop").click().run()
    wait_done(at, timeout=60)
    snap = session().snapshot()
    assert snap.status == "stopped"
    assert {r.status for r in snap.results} <= {"stopped", "cancelled"} and len(snap.results) == 4
    assert "stopped" in {r.status for r in snap.results}
    assert set(at.dataframe[0].value["status"]) <= {"stopped", "cancelled"}


def test_bad_values_say_why_and_run_nothing(runs_dir):
    at = type_values(grid_page(), hidden="8, lots")
    assert "'lots' is not a number" in preview(at) and at.button(key="grid_run").disabled
    at = type_values(at, hidden="8, 5000")
    assert "outside 8–1024" in preview(at) and at.button(key="grid_run").disabled
    at.text_input(key="grid_hidden").set_value("8, 16").run()
    at.radio(key="grid_mode").set_value("Random draws").run()
    at.number_input(key="grid_draws").set_value(5).run()
    assert "only 2 combination" in preview(at)
    assert not at.exception and session().snapshot().status == "idle"
    with pytest.raises(ConfigError):
        build_spec({"steps": "99999999"}, {})


def test_a_dask_cluster_is_offered_only_when_the_server_names_one(runs_dir, monkeypatch):
    at = grid_page()
    assert not [r for r in at.radio if r.key == "grid_where"]  # no address from a user, ever
    monkeypatch.setenv("MLP_LM_DASK_SCHEDULER", "tcp://127.0.0.1:9")  # nothing listens there
    at.run()
    at.radio(key="grid_where").set_value("dask").run()
    type_values(at, hidden="8, 16", steps="100")
    at.button(key="grid_run").click().run()
    wait_done(at, timeout=60)
    snap = session().snapshot()
    assert snap.status == "error" and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in snap.message
    assert any("cannot reach the Dask scheduler" in e.value for e in at.error)
    assert RunStore(runs_dir).list() == ([], [])
