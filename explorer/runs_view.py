"""The Runs page's logic, without Streamlit: the runs table, "differences only", legend labels, edits, and curves.

    rows = ordered(runs)                       # newest first, the trials of one sweep kept together
    df = table(rows, selected, live_id)        # a pandas DataFrame for st.data_editor
    keys = differing(chosen)                   # the settings in which the chosen runs differ
    labels = legend_labels(chosen)             # {run id: "hidden=300"}
    c = stored_curves(store, run_id)           # read once per (run, file mtimes), shared by every session

Curves are read only for the runs that are drawn (never every losses.csv), and kept per (run id, mtimes) so a page
redrawn twice a second reads nothing again until a run writes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np

from mlp_lm.runs import LIVE_SECONDS, RunStore

from . import series

SETTING_ORDER = ("data", "block_size", "emb_dim", "hidden", "init", "steps", "batch_size", "optimizer", "lr", "lr2",
                 "decay_step", "schedule", "weight_decay", "seed")
MAX_LABEL_KEYS = 3  # settings named in one legend entry
MAX_LABEL = 48      # characters of a legend entry


# ------------------------------------------------------------------------------------------------------------ table

COLUMNS = ("compare", "name", "status", "dev loss", "train loss", "test loss", "steps", "parameters", "when",
           "training time", "steps/s", "data", "pinned", "sweep", "id")  # what matters most first

def ordered(runs: list) -> list:
    """Newest first, with every sweep's trials kept together where its newest trial is."""
    out, seen = [], set()
    for r in runs:
        if r.sweep is None:
            out.append(r)
        elif r.sweep not in seen:
            seen.add(r.sweep)
            out.extend(x for x in runs if x.sweep == r.sweep)
    return out


def _age(iso: str) -> float:
    try:
        return time.time() - datetime.fromisoformat(iso).timestamp()
    except (TypeError, ValueError):
        return float("inf")


def status(r, live_id: str | None = None) -> str:
    """A run's status for the table: "interrupted" for a run that says running but has not written for minutes
    (a killed process keeps the last status it wrote; a running one writes every few seconds)."""
    if r.status == "running" and r.id != live_id and _age(r.updated) > LIVE_SECONDS:
        return "interrupted"
    return r.status + (" (this tab)" if r.id == live_id and r.status in ("running", "paused") else "")


def _loss(r, key: str):
    src = r.final if r.final and r.final.get(key) is not None else (r.last_eval or {})
    v = src.get(key)
    return float(v) if isinstance(v, (int, float)) else None


def table(runs: list, selected=(), live_id: str | None = None):
    """The runs table (one row per run, in the given order); the run id is the index."""
    import pandas as pd

    sel = set(selected)
    rows = []
    for r in runs:
        try:
            when = datetime.fromisoformat(r.created)
        except (TypeError, ValueError):
            when = None
        rows.append({
            "compare": r.id in sel, "name": r.name, "status": status(r, live_id), "when": when,
            "data": str(r.data.get("name") or "—"), "parameters": r.n_params, "steps": r.step,
            "train loss": _loss(r, "train_loss"), "dev loss": r.dev_loss, "test loss": _loss(r, "test_loss"),
            "training time": series.fmt_duration(r.seconds), "steps/s": r.steps_per_s, "pinned": r.pinned,
            "sweep": r.sweep or "", "id": r.id,
        })
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["when"] = pd.to_datetime(df["when"], utc=True)
    return df


@dataclass
class Edits:
    select: dict   # run id → compare on/off
    rename: dict   # run id → new name
    pin: dict      # run id → pinned


def table_edits(edited_rows: dict, ids: list[str], names: dict) -> Edits:
    """st.data_editor's `edited_rows` ({row position: {column: value}}) → what to do, by run id."""
    out = Edits({}, {}, {})
    for pos, change in (edited_rows or {}).items():
        try:
            run_id = ids[int(pos)]
        except (ValueError, IndexError, TypeError):
            continue
        if "compare" in change:
            out.select[run_id] = bool(change["compare"])
        if "pinned" in change:
            out.pin[run_id] = bool(change["pinned"])
        name = change.get("name")
        if isinstance(name, str) and name.strip() and name != names.get(run_id):
            out.rename[run_id] = name
    return out


# ---------------------------------------------------------------------------------------------- differences only

def _value(r, key):
    return r.settings.get(key)


def differing(runs: list) -> list[str]:
    """The settings (SETTING_ORDER) in which `runs` do not all agree; none for fewer than two runs."""
    if len(runs) < 2:
        return []
    return [k for k in SETTING_ORDER if len({repr(_value(r, k)) for r in runs}) > 1]


def fmt_setting(v) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 100_000 else str(v)
    return str(v)


def compare_table(runs: list, only_differences: bool = True, labels: dict | None = None):
    """One row per run: its legend label, then the settings (only those that differ, or all), then its losses."""
    import pandas as pd

    keys = differing(runs) if only_differences else list(SETTING_ORDER)
    rows = []
    for r in runs:
        row = {"run": (labels or {}).get(r.id, r.name)}
        row |= {k: fmt_setting(_value(r, k)) for k in keys}
        row |= {"dev loss": r.dev_loss, "test loss": _loss(r, "test_loss"), "id": r.id}
        rows.append(row)
    return pd.DataFrame(rows, columns=["run", *keys, "dev loss", "test loss", "id"])


def legend_labels(runs: list) -> dict[str, str]:
    """{run id: what tells it apart}, e.g. "hidden=300" (the run's name when the runs do not differ); unique."""
    keys = differing(runs)
    out = {}
    for r in runs:
        if keys:
            parts = [f"{k}={fmt_setting(_value(r, k))}" for k in keys[:MAX_LABEL_KEYS]]
            text = ", ".join(parts) + (", …" if len(keys) > MAX_LABEL_KEYS else "")
        else:
            text = r.name
        out[r.id] = text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"
    seen: dict[str, int] = {}
    for r in runs:
        seen[out[r.id]] = seen.get(out[r.id], 0) + 1
    for r in runs:  # the same label twice (runs alike in the settings shown): tell them apart by id
        if seen[out[r.id]] > 1:
            out[r.id] = f"{out[r.id]} · {r.id[-4:]}"
    return out


# ------------------------------------------------------------------------------------------------------- curves

@dataclass(frozen=True)
class Curves:
    steps: np.ndarray       # per-step loss history (bounded)
    losses: np.ndarray
    eval_steps: np.ndarray  # periodic evaluations
    eval_train: np.ndarray
    eval_dev: np.ndarray


def _frozen(*arrays):
    for a in arrays:
        a.setflags(write=False)
    return arrays


@lru_cache(maxsize=256)
def _read(root: str, run_id: str, stamp: tuple) -> Curves:
    store = RunStore(root)
    steps, losses = store.losses(run_id)
    ev = store.evals(run_id)
    return Curves(*_frozen(steps, losses, ev["step"], ev["train_loss"], ev["dev_loss"]))


def _mtime(path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def stored_curves(store: RunStore, run_id: str) -> Curves:
    """A stored run's loss history and evaluations, read again only when its files change."""
    d = store.path(run_id)
    return _read(str(store.root), run_id, (_mtime(d / "losses.csv"), _mtime(d / "evals.csv")))


def snapshot_curves(snap) -> Curves:
    """The same from a live trainer snapshot (fresher than the run's files, which are written every few seconds)."""
    ev = snap.evals
    return Curves(np.asarray(snap.loss_steps), np.asarray(snap.losses), np.array([e.step for e in ev], dtype=np.int64),
                  np.array([e.train for e in ev]), np.array([e.dev for e in ev]))


def smoothed(c: Curves, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """(steps, smoothed loss) as the Train page draws it: ≤ series.MAX_POINTS points, then the debiased EMA."""
    keep = series.downsample(len(c.steps))
    steps, losses = c.steps[keep], c.losses[keep]
    return steps, series.debiased_ema(losses, weight)
