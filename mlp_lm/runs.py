"""The run store: every training run (CLI, app or grid trial) kept as a folder of plain files, listed and reopened.

    store = RunStore()                      # $MLP_LM_RUNS_DIR, else <repo>/runs
    runs, notes = store.list()              # RunInfo newest first; a damaged or foreign folder → a note, never a crash
    ck = store.load_checkpoint(store.resolve("latest"))

One folder per run, named by the program (UTC time + random hex), never by anything a user typed:
    run.json            settings, data, status, timing, last evaluation and final losses (written by the recorder)
    label.json          the user's name for the run and its pin (written only by the UI, so no update is lost)
    evals.csv           step,train_loss,dev_loss       — pandas.read_csv reads both CSVs as they are
    losses.csv          step,loss (the bounded per-step history, ≤ 20,000 points)
    model.safetensors   the checkpoint (mlp_lm.checkpoint), as the run goes
    timeline.safetensors  copies of C through the run (when the trainer keeps them)
Names lists live once per content in `_data/<fingerprint>.txt`. Every file is written atomically (atomic.py), and
the store keeps the newest MAX_RUNS unpinned runs (pinned ones always). The recorder is in recorder.py; what a
run.json says (RunInfo, read defensively) in run_info.py.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import atomic
from .errors import MLPLMError
from .run_info import MAX_NAME, RUN_FORMAT, SETTING_KEYS, DataInfo, RunInfo, _info, fingerprint  # noqa: F401

RUNS_ENV = "MLP_LM_RUNS_DIR"
MAX_RUNS = 200          # unpinned runs kept; the oldest beyond this are deleted when a new run starts
LIVE_SECONDS = 120      # a run written to this recently may still be training somewhere: never pruned
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")
ROOT = Path(__file__).resolve().parent.parent


class RunError(MLPLMError):
    """A run id that is unknown or ambiguous, or a run folder that cannot be read."""


def default_runs_dir() -> Path:
    return Path(os.environ.get(RUNS_ENV) or ROOT / "runs")


def new_run_id(now: float | None = None) -> str:
    t = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
    return f"{t:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _read_json(path: Path, limit: int = 1_000_000):
    if path.stat().st_size > limit:
        raise ValueError(f"{path.name} is too large")
    return json.loads(path.read_text("utf-8"))


class RunStore:
    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_runs_dir()
        self._cache: dict[str, tuple[tuple, RunInfo]] = {}  # id → ((mtimes), RunInfo): listing 200 runs stays cheap

    # ---- paths -----------------------------------------------------------------------------------------------------
    def path(self, run_id: str) -> Path:
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            raise RunError(f"{str(run_id)[:40]!r} is not a run id (they look like 20261202-041530-3fa9)")
        return self.root / run_id

    def ensure_root(self) -> Path:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunError(f"cannot create the runs folder {self.root}: {e.strerror or e}") from None
        if not os.access(self.root, os.W_OK):
            raise RunError(f"the runs folder {self.root} is not writable")
        return self.root

    # ---- reading ---------------------------------------------------------------------------------------------------
    def _load(self, run_id: str) -> RunInfo:
        d = self.path(run_id)
        run_json, label_json = d / "run.json", d / "label.json"
        try:
            key = (run_json.stat().st_mtime_ns, label_json.stat().st_mtime_ns if label_json.exists() else 0)
        except FileNotFoundError:
            raise RunError(f"run {run_id} has no run.json (damaged, or not a run)") from None
        hit = self._cache.get(run_id)
        if hit and hit[0] == key:
            return hit[1]
        try:
            raw = _read_json(run_json)
            label = _read_json(label_json) if label_json.exists() else {}
            info = _info(run_id, raw if isinstance(raw, dict) else {}, label if isinstance(label, dict) else {})
        except (OSError, ValueError, RecursionError, UnicodeDecodeError) as e:
            raise RunError(f"run {run_id} is damaged ({e})") from None
        self._cache[run_id] = (key, info)
        return info

    def list(self) -> tuple[list[RunInfo], list[str]]:
        """(runs newest first, notes on every folder that was skipped). Never raises for what is inside the store."""
        runs, notes = [], []
        try:
            entries = sorted(os.scandir(self.root), key=lambda e: e.name, reverse=True)
        except OSError:
            return [], []
        for e in entries:
            if e.name.startswith((".", "_")) or not e.is_dir(follow_symlinks=False):
                continue
            if not RUN_ID.match(e.name):
                notes.append(f"skipped the folder {e.name[:60]!r}: not a run made by mlp_lm")
                continue
            try:
                runs.append(self._load(e.name))
            except RunError as err:
                notes.append(f"skipped {e.name}: {err}")
        runs.sort(key=lambda r: (r.created, r.id), reverse=True)  # ids carry the second; created the millisecond
        return runs, notes

    def get(self, run_id: str) -> RunInfo:
        if not self.path(run_id).is_dir():
            raise RunError(f"no run {run_id} in {self.root}")
        return self._load(run_id)

    def resolve(self, ref: str) -> str:
        """A full run id, a unique prefix of one, or "latest" → the run id."""
        runs, _ = self.list()
        if ref == "latest":
            if not runs:
                raise RunError(f"no runs in {self.root} yet")
            return runs[0].id
        hits = [r.id for r in runs if r.id.startswith(str(ref))] if ref else []
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise RunError(f"no run {str(ref)[:40]!r} in {self.root} (see `python -m mlp_lm runs`)")
        raise RunError(f"{ref!r} matches {len(hits)} runs; give more of the id")

    def load_checkpoint(self, run_id: str):
        from . import checkpoint

        path = self.path(run_id) / "model.safetensors"
        if not path.exists():
            raise RunError(f"run {run_id} has no model yet (it had not reached its first save)")
        return checkpoint.load(path)

    def _csv(self, run_id: str, name: str, cols: int) -> np.ndarray:
        path = self.path(run_id) / name
        try:
            rows = [line.split(",") for line in path.read_text("utf-8").splitlines()[1:] if line.strip()]
            a = np.array([[float(x) for x in r] for r in rows if len(r) == cols], dtype=np.float64)
        except (OSError, ValueError):
            a = np.zeros((0, cols))
        return a.reshape(-1, cols)

    def evals(self, run_id: str) -> dict[str, np.ndarray]:
        a = self._csv(run_id, "evals.csv", 3)
        return {"step": a[:, 0].astype(np.int64), "train_loss": a[:, 1], "dev_loss": a[:, 2]}

    def losses(self, run_id: str) -> tuple[np.ndarray, np.ndarray]:
        a = self._csv(run_id, "losses.csv", 2)
        return a[:, 0].astype(np.int64), a[:, 1]

    def words(self, run_id: str) -> list[str] | None:
        fp = self.get(run_id).data.get("fingerprint")
        path = self.root / "_data" / f"{fp}.txt"
        if not isinstance(fp, str) or not re.fullmatch(r"[0-9a-f]{16}", fp) or not path.exists():
            return None
        words = path.read_text("utf-8").split("\n")
        return words if fingerprint(words) == fp else None

    # ---- writing (the UI's part: name, pin, delete) ---------------------------------------------------------------
    def _label(self, run_id: str, **changes) -> None:
        info = self.get(run_id)
        label = {"name": info.name, "pinned": info.pinned, **changes}
        try:
            atomic.write_json(self.path(run_id) / "label.json", label)
        except OSError as e:
            raise RunError(f"cannot change run {run_id}: {e.strerror or e}") from None

    def rename(self, run_id: str, name: str) -> None:
        name = " ".join(str(name).split())[:MAX_NAME]
        if not name:
            raise RunError("a run's name cannot be empty")
        self._label(run_id, name=name)

    def pin(self, run_id: str, pinned: bool = True) -> None:
        self._label(run_id, pinned=bool(pinned))

    def delete(self, run_id: str) -> None:
        """Remove a run: renamed out of the listing first (atomic), then its files deleted."""
        src = self.path(run_id)
        if not src.is_dir():
            raise RunError(f"no run {run_id} in {self.root}")
        trash = self.root / f".trash-{run_id}-{secrets.token_hex(3)}"
        try:
            os.replace(src, trash)
        except OSError as e:
            raise RunError(f"cannot delete run {run_id}: {e.strerror or e}") from None
        shutil.rmtree(trash, ignore_errors=True)
        self._cache.pop(run_id, None)

    def prune(self, keep: int = MAX_RUNS, protect: tuple[str, ...] = ()) -> list[str]:
        """Delete the oldest unpinned runs beyond `keep` (never a pinned, protected or recently written one)."""
        runs, _ = self.list()
        unpinned = [r for r in runs if not r.pinned and r.id not in protect]
        deleted = []
        for r in unpinned[keep:]:
            try:
                if time.time() - (self.path(r.id) / "run.json").stat().st_mtime < LIVE_SECONDS:
                    continue
                self.delete(r.id)
                deleted.append(r.id)
            except (OSError, RunError):
                continue
        return deleted

    def save_words(self, words) -> str:
        """Keep a names list once per content (in _data/); returns its fingerprint."""
        words = list(words)
        fp = fingerprint(words)
        folder = self.ensure_root() / "_data"
        path = folder / f"{fp}.txt"
        if not path.exists():
            folder.mkdir(exist_ok=True)
            atomic.write_text(path, "\n".join(words))
        return fp

    def recorder(self, trainer, data: DataInfo, **kw) -> "RunRecorder":
        """A RunRecorder that keeps this trainer's run in the store (see recorder.py)."""
        return RunRecorder(self, trainer, data, **kw)


from .recorder import RunRecorder, train_run  # noqa: E402, F401  (recorder.py builds on the names above)
