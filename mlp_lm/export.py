"""Exports of a run in plain formats other tools read: loss history and evaluations as CSV (pandas.read_csv), the
embedding table C in the TensorBoard Embedding Projector's TSV pair (vectors.tsv + metadata.tsv), and sampled names.

    csv = losses_csv(steps, losses)                 # step,loss
    csv = evals_csv(steps, train_losses, dev_losses)   # step,train_loss,dev_loss
    vectors, metadata = projector_tsv(C, itos)      # load both at projector.tensorflow.org ("Load")
    csv = samples_csv(names, labels)                # name,where

Strings only (the caller writes or downloads them); no file is touched here.
"""
from __future__ import annotations

import csv
import io

import numpy as np

VOWELS = set("aeiouAEIOU")
KINDS = ("vowel", "consonant", "'.' (start/end)", "other")  # the app's legend (explorer.projections.CATEGORIES)


def kind(ch: str) -> str:
    """What a character is, as the app colours it: vowel / consonant / '.' (start/end) / other."""
    if ch == ".":
        return KINDS[2]
    if ch in VOWELS:
        return KINDS[0]
    if ch.isalpha():
        return KINDS[1]
    return KINDS[3]


def _g(v) -> str:
    return f"{float(v):.8g}"


def losses_csv(steps, losses) -> str:
    """The per-step training-minibatch losses: header `step,loss`."""
    rows = zip(np.asarray(steps).astype(np.int64).tolist(), np.asarray(losses, dtype=np.float64).tolist())
    return "step,loss\n" + "".join(f"{s},{_g(v)}\n" for s, v in rows)


def evals_csv(steps, train_losses, dev_losses) -> str:
    """The periodic evaluations: header `step,train_loss,dev_loss`."""
    rows = zip(np.asarray(steps).astype(np.int64).tolist(), np.asarray(train_losses, dtype=np.float64).tolist(),
               np.asarray(dev_losses, dtype=np.float64).tolist())
    return "step,train_loss,dev_loss\n" + "".join(f"{s},{_g(a)},{_g(b)}\n" for s, a, b in rows)


def projector_tsv(C, itos) -> tuple[str, str]:
    """(vectors.tsv, metadata.tsv) for the Embedding Projector: one row of C per character, tab-separated with no
    header; the metadata has the header `char<TAB>kind` and one row per character in the same order.

    Characters never hold a tab or a line end (mlp_lm.chars refuses them), so no quoting is needed; read the
    metadata with pandas as `read_csv(path, sep="\\t", quoting=csv.QUOTE_NONE, keep_default_na=False)`.
    """
    C = np.asarray(C, dtype=np.float64)
    itos = list(itos)
    if C.ndim != 2 or len(C) != len(itos):
        raise ValueError(f"C has {len(C)} rows but the vocabulary {len(itos)} characters")
    vectors = "".join("\t".join(_g(x) for x in row) + "\n" for row in C.tolist())
    metadata = "char\tkind\n" + "".join(f"{ch}\t{kind(ch)}\n" for ch in itos)
    return vectors, metadata


def samples_csv(names, labels) -> str:
    """Sampled names with where each came from (in-train / dev/test / novel): header `name,where`."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["name", "where"])
    for name, where in zip(names, labels):
        w.writerow([_cell(name), where])
    return out.getvalue()


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run: a leading =, +, -, @ (a formula to Excel / LibreOffice) gets a '."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
