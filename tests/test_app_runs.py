"""The Runs page through AppTest: a CLI run shows up, runs are overlaid and compared ("differences only"), renamed,
pinned, deleted after a confirmation, opened for the model pages without disturbing a run in progress."""
import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app_helpers import plotly_figures  # noqa: E402
from explorer import runs_view as V  # noqa: E402
from explorer.holder import OPEN_HOLDERS  # noqa: E402
from mlp_lm.config import TrainConfig  # noqa: E402
from mlp_lm.data import make_dataset  # noqa: E402
from mlp_lm.model import ModelConfig  # noqa: E402
from mlp_lm.runs import DataInfo, RunStore, train_run  # noqa: E402

APP = str(ROOT / "explorer" / "main.py")  # the script each session runs (app.py serves it)
RUNS = "app_pages/runs.py"
pytestmark = pytest.mark.usefixtures("warm_kernel", "released_sessions")


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A store of this test's own: the app's holder reads MLP_LM_RUNS_DIR when the session starts."""
    monkeypatch.setenv("MLP_LM_RUNS_DIR", str(tmp_path / "runs"))
    return RunStore(tmp_path / "runs")


def add_run(store, words, *, hidden=16, lr=0.1, steps=200, sweep=None, name=None) -> str:
    ds = make_dataset(words, 3)
    mc = ModelConfig(hidden=hidden, vocab_size=len(ds.vocab))
    tc = TrainConfig(steps=steps, lr=lr, eval_interval=100)
    _, run_id = train_run(ds, mc, tc, store, DataInfo.of(words, "small.txt"), words=words, sweep=sweep, name=name)
    return run_id


def runs_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.switch_page(RUNS).run()
    assert not at.exception, at.exception
    return at


def holder():
    (h,) = list(OPEN_HOLDERS)
    return h


def table(at):
    return next(d.value for d in at.dataframe if "compare" in d.value.columns)


def overlay(at) -> list[dict]:
    """The overlay chart's traces, as the browser receives them (the live chart element's data)."""
    (el,) = [el for el in at.get("bidi_component") if el.proto.component_name == "mlp_lm_live_chart"]
    return json.loads(json.loads(el.proto.json)[0])["figure"]["data"]


def xs(trace) -> np.ndarray:
    x = trace["x"]
    if isinstance(x, dict):  # plotly.js's typed array {dtype, bdata}
        return np.frombuffer(base64.b64decode(x["bdata"]), dtype={"i4": "<i4", "f4": "<f4", "f8": "<f8"}[x["dtype"]])
    return np.asarray(x)


def test_a_cli_run_appears_on_the_runs_page(store):
    env = {**os.environ, "MLP_LM_RUNS_DIR": str(store.root)}
    out = subprocess.run([sys.executable, "-m", "mlp_lm", "train", "--hidden", "16", "--steps", "300",
                          "--eval-interval", "100", "--no-progress", "--json", "--name", "from the command line"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    at = runs_page()
    df = table(at)
    row = df[df["id"] == result["run_id"]].iloc[0]
    assert row["name"] == "from the command line" and row["status"] == "finished" and row["steps"] == 300
    assert row["dev loss"] == pytest.approx(result["dev_loss"], abs=1e-4)
    assert row["parameters"] == result["parameters"] and row["data"] == "names.txt (default)"
    assert any("python -m mlp_lm train" in c.value and "--hidden 16" in c.value for c in at.code)


def test_three_runs_overlaid_each_its_own_colour_named_by_what_differs(store, small_words):
    ids = [add_run(store, small_words, hidden=h) for h in (16, 24, 32)]
    at = runs_page()
    assert sorted(at.session_state["runs_selected"]) == sorted(ids)  # the newest three, to start with
    traces = overlay(at)
    lines = [t for t in traces if t["mode"] == "lines"]
    assert sorted(t["name"] for t in lines) == ["hidden=16", "hidden=24", "hidden=32"]
    assert len({t["line"]["color"] for t in lines}) == 3
    assert all(len(xs(t)) > 10 for t in lines)
    dev = [t for t in traces if t["mode"] == "markers+lines"]
    assert len(dev) == 3 and all(list(xs(t)) == [100, 200] for t in dev)  # the dev-loss evaluations
    at.multiselect(key="runs_pick").set_value(ids[:2]).run()  # compare two of them
    assert len([t for t in overlay(at) if t["mode"] == "lines"]) == 2
    at.toggle(key="runs_log10").set_value(False).run()
    assert not at.exception


def test_differences_only_shows_just_the_settings_that_differ(store, small_words):
    add_run(store, small_words, hidden=16, lr=0.1)
    add_run(store, small_words, hidden=24, lr=0.05)
    add_run(store, small_words, hidden=24, lr=0.1)
    at = runs_page()
    cmp = next(d.value for d in at.dataframe if "run" in d.value.columns)
    assert list(cmp.columns) == ["run", "hidden", "lr", "dev loss", "test loss", "id"]
    assert sorted(cmp["run"]) == ["hidden=16, lr=0.1", "hidden=24, lr=0.05", "hidden=24, lr=0.1"]
    at.toggle(key="runs_diff").set_value(False).run()
    cmp = next(d.value for d in at.dataframe if "run" in d.value.columns)
    assert list(cmp.columns) == ["run", *V.SETTING_ORDER, "dev loss", "test loss", "id"]


def test_rename_pin_and_delete_with_a_confirmation(store, small_words):
    keep, gone = add_run(store, small_words, hidden=16), add_run(store, small_words, hidden=24)
    at = runs_page()
    at.selectbox(key="runs_focus").set_value(gone).run()
    at.text_input(key=f"runs_rename_{gone}").input("the big one").run()
    assert store.get(gone).name == "the big one"
    assert "the big one" in table(at)["name"].tolist()
    at.button(key="runs_pin").click().run()
    assert store.get(gone).pinned and table(at).set_index("id").loc[gone, "pinned"]

    at.button(key="runs_delete").click().run()  # asks first
    assert any("cannot be undone" in w.value for w in at.warning) and store.get(gone)
    at.button(key="runs_delete_no").click().run()
    assert not any("cannot be undone" in w.value for w in at.warning)
    assert gone in [r.id for r in store.list()[0]]
    at.button(key="runs_delete").click().run()
    at.button(key="runs_delete_yes").click().run()
    assert not at.exception, at.exception
    assert [r.id for r in store.list()[0]] == [keep]
    assert table(at)["id"].tolist() == [keep] and gone not in at.session_state["runs_selected"]
    assert any("Deleted" in s.value for s in at.success)


def test_open_a_run_without_disturbing_the_run_in_progress(store, small_words):
    stored = add_run(store, small_words, hidden=24, name="stored")
    at = runs_page()
    at.number_input(key="steps").set_value(2_000_000).run()
    at.button(key="btn_start").click().run()
    h = holder()
    trainer = h.trainer
    assert h.snapshot().status == "running"
    at.selectbox(key="runs_focus").set_value(stored).run()
    at.button(key="runs_open").click().run()
    assert not at.exception, at.exception
    v = h.view()
    assert v.opened and v.run_id == stored and v.label == "stored" and v.model_config.hidden == 24
    assert v.dataset is not None and v.dataset.vocab == v.vocab  # its own names: samples can be labelled
    assert any("Viewing run **stored**" in i.value for i in at.info)
    step = h.snapshot().step
    end = time.monotonic() + 20
    while h.snapshot().step <= step and time.monotonic() < end:
        time.sleep(0.05)
    assert h.trainer is trainer and h.snapshot().status == "running" and h.snapshot().step > step  # untouched

    at.switch_page("app_pages/sampler.py").run()  # the model pages show the opened run
    assert not at.exception, at.exception
    assert any("Viewing run **stored**" in i.value for i in at.info)
    assert any("(opened from Runs; step 200, finished)" in i.value for i in at.info)
    at.button(key="samp_generate").click().run()
    assert not at.exception, at.exception
    names = next(d.value for d in at.dataframe if "where" in d.value.columns)
    assert len(names) == 20 and set(names["where"]) <= {"in-train", "dev/test", "novel"}
    assert any(b.label.startswith("Download the names") for b in at.get("download_button"))
    at.switch_page("app_pages/embeddings.py").run()
    assert not at.exception, at.exception
    (fig,) = [f for f in plotly_figures(at) if any(t.get("name") == "vowel" for t in f["data"])]
    assert fig["layout"]["title"]["text"].endswith("· step 200")  # the stored run's C, not the live run's
    at.button(key="emb_close_view").click().run()  # back to the current run
    assert not h.view().opened and h.view().run_id == h.recorder.run_id
    assert not any("Viewing run" in i.value for i in at.info)
    h.stop()


def test_skipped_folders_are_noted_and_a_sweep_is_selected_together(store, small_words):
    a = add_run(store, small_words, hidden=16, sweep="grid-1")
    time.sleep(1.1)  # run ids are made of the UTC second (+ random hex): newer ones list first
    add_run(store, small_words, hidden=20)
    time.sleep(1.1)
    b = add_run(store, small_words, hidden=24, sweep="grid-1")
    (store.root / "holiday photos").mkdir()
    (store.root / "20260101-000000-abcd").mkdir()
    (store.root / "20260101-000000-abcd" / "run.json").write_text("{not json")
    at = runs_page()
    assert any("2 folders" in e.label for e in at.expander)
    assert table(at)["id"].tolist()[:2] == [b, a]  # the sweep's trials together, where its newest one is
    at.selectbox(key="runs_sweep").set_value("grid-1").run()
    assert sorted(at.session_state["runs_selected"]) == sorted([a, b])


def test_table_edits_map_row_positions_to_run_ids():
    ids = ["r0", "r1", "r2"]
    e = V.table_edits({1: {"compare": False, "name": "new"}, "2": {"pinned": True}, 9: {"compare": True},
                       0: {"name": "   "}}, ids, {"r0": "a", "r1": "b", "r2": "c"})
    assert e.select == {"r1": False} and e.rename == {"r1": "new"} and e.pin == {"r2": True}


def test_a_run_training_in_this_tab_is_drawn_live(store, small_words):
    at = runs_page()
    assert any("No runs yet" in i.value for i in at.info)
    at.number_input(key="steps").set_value(2_000_000).run()
    at.button(key="btn_start").click().run()
    h = holder()
    end = time.monotonic() + 20
    while not (store.root / h.recorder.run_id / "run.json").exists() and time.monotonic() < end:
        time.sleep(0.05)
    at.run()
    row = table(at).set_index("id").loc[h.recorder.run_id]
    assert row["status"] == "running (this tab)"
    assert at.session_state["runs_selected"] == [h.recorder.run_id]

    def last_step():
        (line,) = [t for t in overlay(at) if t["mode"] == "lines"]
        return int(xs(line)[-1])

    first = last_step()
    end = time.monotonic() + 20
    while last_step() <= first and time.monotonic() < end:  # AppTest never fires run_every: rerun by hand
        time.sleep(0.2)
        at.run()
    assert last_step() > first  # from the trainer's snapshot, not only from the files written every few seconds
    assert any("This tab's run is training" in c.value for c in at.caption)
    h.stop()
