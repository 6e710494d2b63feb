"""CLI smoke tests: train → checkpoint → sample/score/sweep, and bad input → exit 2 with one line on stderr."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "mlp_lm", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "m.safetensors"
    r = cli("train", "--preset", "fast", "--steps", "400", "--hidden", "32", "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    return out, json.loads(r.stdout.strip().splitlines()[-1])


def test_train_json_and_checkpoint(trained):
    out, res = trained
    assert out.exists()
    for key in ("train_loss", "dev_loss", "test_loss", "steps", "seconds", "steps_per_s"):
        assert key in res
    assert res["steps"] == 400 and res["dev_loss"] < 3.0


def test_sample_and_score(trained):
    out, _ = trained
    r = cli("sample", "--checkpoint", out, "-n", "5", "--seed", "3", "--json")
    assert r.returncode == 0, r.stderr
    names = json.loads(r.stdout.strip().splitlines()[-1])["names"]
    assert len(names) == 5 and names == json.loads(cli("sample", "--checkpoint", out, "-n", "5", "--seed", "3",
                                                       "--json").stdout.strip().splitlines()[-1])["names"]
    r = cli("score", "--checkpoint", out, "emma", "--json")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)[0]
    assert len(row["probs"]) == 5 and row["nll"] > 0


def test_sweep_json():
    r = cli("sweep", "--hidden", "32", "--num", "200", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"valley", "steepest"} <= set(res["suggestions"])


@pytest.mark.parametrize("args, needle", [
    (("train", "--data", "does/not/exist.txt"), "cannot read"),
    (("train", "--steps", "-5"), "steps"),
    (("train", "--batch-size", "0"), "batch_size"),
    (("train", "--block-size", "0"), "block_size"),
    (("sample", "--checkpoint", ROOT / "data" / "names.txt"), "checkpoint"),
    (("score", "--checkpoint", ROOT / "README.md", "emma"), "checkpoint"),
    (("train", "--optimizer", "rmsprop"), "invalid choice"),
    (("train", "--lr", "abc"), "invalid float"),
    (("frobnicate",), "invalid choice"),
])
def test_bad_input_exits_2_with_one_line(args, needle, capsys):
    from mlp_lm.cli import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], lines


def test_bad_data_file(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"ann\nmr.x\n")
    r = cli("train", "--data", p, "--steps", "10")  # through a real process: exit status and no traceback
    assert r.returncode == 2 and "'.'" in r.stderr and "Traceback" not in r.stderr
