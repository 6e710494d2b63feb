"""Exports (mlp_lm/export.py) parse with pandas as written: loss history and evaluations (CSV), the Embedding
Projector's vectors.tsv + metadata.tsv, sampled names (CSV); kinds agree with the app's colours."""
import csv
import io

import numpy as np
import pandas as pd

from explorer.projections import category
from mlp_lm import export


def test_loss_history_and_evaluations_csv_parse():
    steps, losses = np.arange(0, 50, 5), np.linspace(3.3, 2.1, 10)
    df = pd.read_csv(io.StringIO(export.losses_csv(steps, losses)))
    assert list(df.columns) == ["step", "loss"] and df["step"].tolist() == steps.tolist()
    np.testing.assert_allclose(df["loss"], losses, rtol=1e-7)
    ev = pd.read_csv(io.StringIO(export.evals_csv([10, 20], [2.5, 2.3], [2.6, 2.4])))
    assert list(ev.columns) == ["step", "train_loss", "dev_loss"] and ev["dev_loss"].tolist() == [2.6, 2.4]


def test_projector_tsv_pair():
    itos = [".", "a", "b", "é", "ß", " ", "-", '"', "7", "E"]
    C = np.random.default_rng(0).normal(size=(len(itos), 4)).astype(np.float32)
    vectors, metadata = export.projector_tsv(C, itos)
    v = pd.read_csv(io.StringIO(vectors), sep="\t", header=None)
    assert v.shape == C.shape
    np.testing.assert_allclose(v.to_numpy(), C, rtol=1e-6)
    m = pd.read_csv(io.StringIO(metadata), sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False, dtype=str)
    assert list(m.columns) == ["char", "kind"] and m["char"].tolist() == itos  # a space, a quote, 'é' kept as they are
    assert m["kind"].tolist()[:5] == ["'.' (start/end)", "vowel", "consonant", "consonant", "consonant"]
    assert m["kind"].tolist() == [category(ch) for ch in itos]  # the app's legend, the same rule
    assert len(vectors.splitlines()) == len(metadata.splitlines()) - 1  # one row each, plus the metadata's header


def test_samples_csv_quotes_what_needs_it():
    names = ["emma", 'o"neil', "a,b", "zoë"]
    df = pd.read_csv(io.StringIO(export.samples_csv(names, ["in-train", "novel", "novel", "dev/test"])),
                     keep_default_na=False)
    assert df["name"].tolist() == names and df["where"].tolist()[1] == "novel"


def test_samples_csv_never_hands_a_spreadsheet_a_formula():
    text = export.samples_csv(["=cmd|'/c calc'!A1", "+1", "-x", "@sum", "ann"], ["novel"] * 5)
    cells = [line.split(",")[0].strip('"') for line in text.splitlines()[1:]]
    assert all(not c.startswith(("=", "+", "-", "@")) for c in cells) and cells[-1] == "ann"
