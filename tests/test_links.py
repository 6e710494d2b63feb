"""Share by link (explorer/links.py, wired in explorer/main.py): settings and page ↔ query string. Bad values are
ignored with a note, never an exception; a link with settings opens the app with them."""
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from explorer import links, settings as S  # noqa: E402

APP = str(ROOT / "explorer" / "main.py")  # the script each session runs (app.py serves it)
PAGES = ("train", "sweep", "embeddings", "sampler", "runs", "data")


def test_round_trip_of_every_kind_of_setting():
    values = S.default_values() | {"hidden": 300, "emb_dim": 24, "lr": 0.0375, "lr2": 0.0, "steps": 12_000,
                                   "batch_size": 256, "optimizer": "adamw", "schedule": "cosine", "init": "scaled",
                                   "seed": 42, "weight_decay": 1e-4, "eval_every": 2_000, "decay_step": 6_000}
    q = links.encode(values, S.DEFAULT_PRESET, page="runs")
    assert all(isinstance(v, str) for v in q.values()) and q["page"] == "runs" and "preset" not in q
    link = links.parse(q, pages=PAGES)
    assert link.notes == [] and link.page == "runs"
    assert {**S.default_values(), **link.values} == values
    assert type(link.values["lr"]) is float and type(link.values["hidden"]) is int


def test_only_what_differs_from_the_preset_is_written():
    fast = next(label for label, name in S.PRESET_LABELS.items() if name == "fast")
    q = links.encode(S.default_values(fast) | {"hidden": 64}, fast)
    assert q == {"preset": "fast", "hidden": "64"}
    link = links.parse(q)
    assert link.preset == fast and link.values == {"hidden": 64}
    assert links.encode(S.default_values(), S.DEFAULT_PRESET) == {}


@pytest.mark.parametrize("key,text", [
    ("hidden", "9999"), ("hidden", "abc"), ("hidden", "3.5"), ("hidden", ""), ("block_size", "0"),
    ("lr", "nan"), ("lr", "inf"), ("lr", "-1"), ("lr", "1e400"), ("steps", "1" * 200), ("batch_size", "33"),
    ("optimizer", "rmsprop"), ("schedule", "STEP"), ("eval_every", "7"), ("seed", "-1"), ("preset", "zzz"),
    ("page", "../../etc"), ("nonsense", "1"), ("weight_decay", "2"),
])
def test_bad_values_are_ignored_with_a_note(key, text):
    link = links.parse({key: text, "emb_dim": "12"}, pages=PAGES)
    assert key not in link.values and link.page is None and link.preset is None
    assert link.values == {"emb_dim": 12}  # the good value next to it is still used
    assert len(link.notes) == 1 and link.note().startswith("Some of this link's settings were ignored")


def test_notes_are_short_and_escaped():
    link = links.parse({"\u202ex" * 500: "1", "hidden": "\x1b[31m" + "9" * 500})
    note = link.note()
    assert len(note) < 300 and "\x1b" not in note and "\u202e" not in note
    many = links.parse({f"k{i}": "1" for i in range(1000)})
    assert len(many.notes) <= links.MAX_PARAMS + 1


def test_repeated_keys_use_the_last_value():
    assert links.parse({"hidden": ["100", "300"]}).values == {"hidden": 300}


# --------------------------------------------------------------------------------------------------------- AppTest

@pytest.fixture
def at(released_sessions, monkeypatch, tmp_path):
    monkeypatch.setenv("MLP_LM_RUNS_DIR", str(tmp_path))
    return AppTest.from_file(APP, default_timeout=30)


def test_a_link_with_settings_restores_them(at):
    at.query_params.update({"preset": "fast", "hidden": "300", "lr": "0.02", "optimizer": "adamw", "page": "sampler"})
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["preset"].startswith("Fast")
    assert at.slider(key="hidden").value == 300
    assert at.number_input(key="lr").value == 0.02
    assert at.selectbox(key="optimizer").value == "adamw"
    assert at.number_input(key="steps").value == S.default_values(at.session_state["preset"])["steps"]  # the preset's
    assert at.title[0].value.endswith("Sampler")  # the page the link named
    assert not at.warning
    # the URL follows the settings: a change is written back
    at.slider(key="emb_dim").set_value(20).run()
    assert at.query_params["emb_dim"] == "20" and at.query_params["hidden"] == "300"


def test_a_link_with_garbage_renders_with_defaults_and_a_note(at):
    at.query_params.update({"hidden": "lots", "lr": "1e9", "batch_size": "33", "page": "nowhere", "x": "<script>"})
    at.run()
    assert not at.exception, at.exception
    defaults = S.default_values()
    assert at.slider(key="hidden").value == defaults["hidden"]
    assert at.number_input(key="lr").value == defaults["lr"]
    assert at.select_slider(key="batch_size").value == defaults["batch_size"]
    assert at.title[0].value.endswith("Train")
    notes = [w.value for w in at.warning if "link" in w.value]
    assert len(notes) == 1 and "hidden='lots'" in notes[0] and "'x' (not a setting)" in notes[0]
    assert "hidden" not in at.query_params  # the URL is rewritten to what is in use
