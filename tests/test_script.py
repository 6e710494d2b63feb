"""'Copy as Python' (mlp_lm/script.py): the exported script, run as its own process, reproduces the reference engine's
per-step losses; the exported command parses back to the run's settings."""
import json
import os
import shlex
import subprocess
import sys
import time

import numpy as np
import pytest

from mlp_lm.cli import build_parser, resolve_configs
from mlp_lm.config import TrainConfig
from mlp_lm.data import DEFAULT_DATA, load_dataset
from mlp_lm.model import ModelConfig
from mlp_lm.runs import DataInfo, RunStore, train_run
from mlp_lm.script import for_run, python_script, train_command
from mlp_lm.trainer import Trainer

RUN = "import json, runpy, sys; g = runpy.run_path(sys.argv[1]); print(json.dumps(g['lossi']))"


def run_script(text: str, tmp_path, max_steps: int | None = None) -> tuple[np.ndarray, str]:
    """Run the script in a fresh interpreter (its own process, as a user would); its `lossi` and its output."""
    path = tmp_path / "exported.py"
    path.write_text(text, encoding="utf-8")
    env = {**os.environ, "MAX_STEPS": str(max_steps or "")}
    out = subprocess.run([sys.executable, "-c", RUN, str(path)], capture_output=True, text=True, env=env, timeout=300,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return np.array(json.loads(out.stdout.strip().splitlines()[-1])), out.stdout


def reference_losses(ds, mc, tc, steps: int | None = None) -> np.ndarray:
    """The project's reference engine: the whole run, or its first `steps` steps (paused there, then stopped)."""
    t = Trainer(ds, mc, tc.replace(engine="reference", eval_interval=0))
    if steps is None:
        return np.asarray(t.run().losses)
    t.start(budget=steps)
    end = time.monotonic() + 120
    while not (t.snapshot().status == "paused" and t.snapshot().step >= steps) and time.monotonic() < end:
        time.sleep(0.02)
    t.stop(measure=False)
    return np.asarray(t.snapshot().losses)[:steps]


@pytest.fixture(scope="module")
def names_ds():
    return load_dataset(None, 3)


@pytest.mark.parametrize("init", ["lecture", "saturated"])
def test_sgd_step_schedule_matches_the_reference_engine(names_ds, tmp_path, init):
    # the lecture's optimiser and step decay, with the decay inside the 300 steps compared
    mc = ModelConfig(hidden=48, vocab_size=27, init=init)
    tc = TrainConfig(steps=300, decay_step=150, lr=0.1, lr2=0.01)
    text = python_script(mc.to_dict(), tc.to_dict(), names_path=DEFAULT_DATA)
    ours, out = run_script(text, tmp_path)
    ref = reference_losses(names_ds, mc, tc)
    assert len(ours) == len(ref) == 300
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)
    assert "train " in out and "dev " in out and "test " in out  # the evaluation ran


def test_adam_onecycle_first_steps_of_a_longer_run_match(names_ds, tmp_path):
    # MAX_STEPS runs the first steps of the 2,000-step run: its one-cycle warm-up is the full run's
    mc = ModelConfig(hidden=48, emb_dim=8, vocab_size=27, init="scaled")
    tc = TrainConfig(steps=2_000, batch_size=64, optimizer="adam", lr=0.01, schedule="onecycle")
    text = python_script(mc.to_dict(), tc.to_dict(), names_path=DEFAULT_DATA)
    ours, _ = run_script(text, tmp_path, max_steps=300)
    ref = reference_losses(names_ds, mc, tc, steps=300)
    assert len(ours) == len(ref) == 300
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


def test_a_stored_run_on_its_own_names_reproduces_its_recorded_losses(small_words, tmp_path):
    # for_run: a run trained on other names (kept in the store's _data/) — the script reads that file, and its
    # fingerprint check finds the same names
    from mlp_lm.data import make_dataset

    store = RunStore(tmp_path / "store")
    ds = make_dataset(small_words, 2)
    mc = ModelConfig(block_size=2, emb_dim=6, hidden=24, vocab_size=len(ds.vocab))
    tc = TrainConfig(steps=120, optimizer="adamw", lr=0.02, lr2=0.001, schedule="cosine", weight_decay=0.01,
                     engine="reference", eval_interval=60)
    _, run_id = train_run(ds, mc, tc, store, DataInfo.of(small_words, "small.txt"), words=small_words)
    text, cmd = for_run(store, run_id)
    assert str(store.root / "_data") in text and "--data" in cmd
    ours, out = run_script(text, tmp_path)
    assert "note:" not in out  # the fingerprint matched
    _, recorded = store.losses(run_id)
    np.testing.assert_allclose(ours, recorded, rtol=2e-5, atol=1e-5)  # the store keeps 6 significant digits


def test_the_command_parses_back_to_the_same_settings():
    mc = ModelConfig(block_size=4, emb_dim=12, hidden=300, vocab_size=27, init="scaled")
    tc = TrainConfig(steps=12_345, batch_size=64, optimizer="adamw", lr=0.003, lr2=1e-5, schedule="cosine",
                     weight_decay=0.1, seed=7, eval_interval=1_000, threads=2)
    cmd = train_command(mc.to_dict(), tc.to_dict(), data_path="my names.txt", name="it's a test")
    argv = shlex.split(cmd)
    assert argv[:4] == ["python", "-m", "mlp_lm", "train"]
    args = build_parser().parse_args(argv[3:])
    assert str(args.data) == "my names.txt" and args.name == "it's a test"
    mc2, tc2 = resolve_configs(args, 27)
    assert mc2 == mc
    assert tc2 == tc.replace(decay_step=tc.decay_at)


def test_a_hostile_run_name_stays_a_comment():
    mc, tc = ModelConfig(vocab_size=27), TrainConfig(steps=10)
    text = python_script(mc.to_dict(), tc.to_dict(), names_path="names.txt", title='x"""\x00\n import os; os.system("boom")',
                         run_id="20261202-000000-abcd")
    compile(text, "exported.py", "exec")  # still valid Python: the name is a repr inside a comment
    assert "\x00" not in text and '\n import os; os.system("boom")' not in text
