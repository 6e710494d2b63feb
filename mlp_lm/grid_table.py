"""A search's results as a table: rows sorted by dev loss, the text table the CLI prints, and a CSV pandas reads.

Shared by the CLI and the app, so both show (and export) the same columns: the trial's number, its varied settings,
status, dev / train / test loss, steps, training seconds and the run's id in the store.
"""
from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from pathlib import Path

from .trials import TrialResult

LOSS_COLUMNS = ("status", "dev_loss", "train_loss", "test_loss", "step", "seconds", "run", "message")


def sort_key(r: TrialResult):
    """Best dev loss first; trials without one (cancelled, failed) last, in trial order."""
    return (r.dev_loss is None, r.dev_loss if r.dev_loss is not None else 0.0, r.index)


def rows(results, varied) -> list[dict]:
    """One flat dict per trial, best dev loss first: {"trial", <varied settings>..., "status", "dev_loss", ...}."""
    out = []
    for r in sorted(results, key=sort_key):
        d = r.to_dict()
        out.append({"trial": r.index + 1, **{k: r.settings.get(k) for k in varied}, **{k: d[k] for k in LOSS_COLUMNS}})
    return out


def csv_text(table: list[dict], varied=()) -> str:
    """The rows as CSV text (header first; an empty loss is an empty cell, which pandas reads as NaN)."""
    columns = ["trial", *varied, *LOSS_COLUMNS] if not table else list(table[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns, lineterminator="\n")
    w.writeheader()
    for row in table:
        w.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def write_csv(path: str | os.PathLike, table: list[dict], varied=()) -> Path:
    """Write the CSV atomically (a temporary file in the same folder, then os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(csv_text(table, varied))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _cell(v) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.4f}" if math.isfinite(v) and abs(v) < 1e4 else f"{v:.3g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def text_table(table: list[dict]) -> str:
    """A plain aligned table for the terminal (messages left out: the CLI prints them below)."""
    if not table:
        return "(no trials)"
    columns = [c for c in table[0] if c != "message"]
    cells = [[_cell(row[c]) for c in columns] for row in table]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(vals, widths)) for vals in [columns, *cells])
