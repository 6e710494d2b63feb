"""The per-session state that must outlive reruns: the names in use, the datasets built from them, the trainer.

`Holder` is plain Python (no Streamlit): `explorer.session.get_holder()` keeps one per browser session in
`st.cache_resource(scope="session", on_release=Holder.close)`, so closing the tab stops the session's training.
The training thread belongs to `mlp_lm.trainer.Trainer`; pages only read `holder.snapshot()` (immutable).
`holder.view()` is the model the Embeddings and Sampler pages show: a run opened from the Runs page
(`open_run` / `close_view`), else the current run's latest snapshot — opening one never touches the trainer.

Every method that takes user input raises `mlp_lm.errors.MLPLMError` on bad input and leaves the holder as it was
(the last good data and trainer stay in use). Start, Step and Resume ask `explorer.capacity` for a slot first and
raise `capacity.ServerBusy` (an MLPLMError), changing nothing, when the server already trains its limit of runs.

Data: the default names and every dataset come through `explorer.shared_data`, so sessions on the same names share one
copy (immutable) and a new session's first page builds nothing the server already has.
Memory: the datasets a session uses are kept within `explorer.memory.dataset_budget()` bytes (least recently used
evicted first; never the one the current run or the opened run uses), and `close()` — the session ended — drops
everything the holder holds and gives the memory back.
"""
from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING

from mlp_lm.data import Dataset, load_words, make_dataset
from mlp_lm.errors import ConfigError, DataError, MLPLMError
from mlp_lm.runs import RunStore

from . import capacity, memory, shared_data
from .model_view import ModelView
from .settings import LABELS, RANGES, build_configs, pending_changes
from .shared_data import Names, default_names  # noqa: F401  (Names: part of this module's interface)

if TYPE_CHECKING:  # the trainer and checkpoints are imported when first used: a session's first page needs no torch
    from mlp_lm.trainer import Snapshot, Trainer

TRAINER_NICE = 5  # the app's training threads run at this lower OS priority, so the server's event loop and the
                  # pages' script threads come first on a busy machine (6 tabs training on 2 cores: health p95
                  # 0.8-0.9 s at 0, 0.14-0.67 s at 5; bench/bench_load.py); alone, a run trains as fast
POLL_GRACE = 1.5  # seconds the live views keep polling after a control click (the thread may not be running yet)

OPEN_HOLDERS: "weakref.WeakSet[Holder]" = weakref.WeakSet()  # for tests and diagnostics: holders not yet closed


def parse_upload(name: str, raw: bytes) -> Names:
    """An uploaded file's bytes → Names, checked by the core (encoding, one name per line, limits, a usable split).

    Raises MLPLMError with the core's message; never touches the disk.
    """
    if not isinstance(raw, (bytes, bytearray)):
        raise DataError("the upload must be the bytes of a text file")
    words = load_words(bytes(raw))
    make_dataset(words, 1)  # the split needs ≥ 6 names and a vocabulary that fits: fail now, not at Start
    return Names.make(words, name or "uploaded file")


def parse_text(text: str, name: str = "pasted names") -> Names:
    """Names typed or pasted, one per line, checked like an upload."""
    words = load_words(str(text))
    make_dataset(words, 1)
    return Names.make(words, name)


class Holder:
    def __init__(self, names: Names | None = None, store: RunStore | None = None):
        self.names = names or default_names()  # the data for the next run
        self.store = store or RunStore()        # every run trained here is recorded (mlp_lm.runs)
        self.recorder = None                    # the current trainer's RunRecorder
        self.trainer: Trainer | None = None
        self.run_names: Names | None = None     # the data the current trainer was built on
        self.run_id = 0                         # increases with every new trainer
        self.poll_until = 0.0                   # live views poll until then even when nothing runs yet
        self.last_upload: str | None = None     # file_id of the last upload handled (handled once)
        self.last_upload_error: str | None = None
        self.closed = False
        self.opened: ModelView | None = None    # a run opened from the Runs page (see view())
        self._datasets = memory.DatasetCache()  # bounded by bytes (memory.dataset_budget)
        OPEN_HOLDERS.add(self)

    # ---- data ------------------------------------------------------------------------------------------------------
    def dataset(self, block_size: int, names: Names | None = None) -> Dataset:
        """The lecture's split of `names` (default: the data for the next run) for `block_size`, built once."""
        names = names or self.names
        return self._datasets.get((names.fingerprint, int(block_size)),
                                  lambda: shared_data.dataset(names, int(block_size)),
                                  in_use=lambda: (self.run_dataset(), self.opened and self.opened.dataset))

    def datasets_bytes(self) -> int:
        """Bytes of the datasets cached here (what the session budget bounds)."""
        return self._datasets.bytes()

    def use_names(self, names: Names) -> None:
        self.names = names

    def load_upload(self, name: str, raw: bytes, file_id: str | None = None) -> Names:
        """Use an uploaded file for the next run; on bad input raise MLPLMError and keep the previous data."""
        self.last_upload = file_id
        try:
            names = parse_upload(name, raw)
        except MLPLMError as e:
            self.last_upload_error = str(e)
            raise
        self.last_upload_error = None
        self.names = names
        return names

    def load_text(self, text: str) -> Names:
        names = parse_text(text)
        self.names = names
        return names

    def use_default(self) -> None:
        self.names = default_names()

    # ---- reading ---------------------------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot | None:
        return None if self.trainer is None else self.trainer.snapshot()

    def run_dataset(self) -> Dataset | None:
        """The dataset the current trainer trains on (its vocabulary is the model's)."""
        return None if self.trainer is None else self.trainer.dataset

    def view(self) -> ModelView | None:
        """The model to show: the opened run, else the current run's latest snapshot (None before any run)."""
        if self.opened is not None:
            return self.opened
        s = self.snapshot()
        if s is None:
            return None
        ds = self.trainer.dataset
        return ModelView(s.params, s.model_config, ds.vocab, ds, f"run {self.run_id}",
                         self.recorder.run_id if self.recorder is not None else None, s.step, s.status, False, s.version)

    def open_run(self, run_id: str) -> ModelView:
        """Show the stored run `run_id` on the model pages (the trainer is not touched). Raises MLPLMError (RunError,
        CheckpointError) for a run that is missing, damaged or has no model yet, and keeps the previous view."""
        if self.recorder is not None and run_id == self.recorder.run_id:
            self.opened = None  # the current run: its live snapshot is what is shown anyway
            return self.view()
        info = self.store.get(run_id)
        ck = self.store.load_checkpoint(run_id)
        words = self.store.words(run_id)
        names = Names.make(words, info.data.get("name") or "names") if words is not None else None
        if names is None and info.data.get("default"):
            names = default_names()
        ds = None
        if names is not None and names.fingerprint == info.data.get("fingerprint"):
            try:
                ds = self.dataset(ck.model_cfg.block_size, names)
            except MLPLMError:
                pass
        self.opened = ModelView.of_checkpoint(ck, info, ds)
        return self.opened

    def close_view(self) -> None:
        """Back to the current run."""
        self.opened = None

    def live(self) -> bool:
        """True while something can change what the pages show: a running trainer, or just after a click."""
        s = self.snapshot()
        if s is not None and s.status == "running":
            return True
        return time.monotonic() < self.poll_until

    def pending(self, values: dict) -> list[str]:
        """Sidebar settings that differ from the current run's (they apply to the next run)."""
        if self.trainer is None:
            return []
        try:
            ds = self.dataset(int(values["block_size"]))
            model, train = build_configs(values, len(ds.vocab))
        except MLPLMError as e:
            return [f"invalid setting: {e}"]
        t = self.trainer  # t.cfg, not the snapshot's: set_lr replaces it at once, the snapshot follows a chunk later
        return pending_changes(model, train, t.model_cfg, t.cfg,
                               self.names.name, self.run_names.name if self.run_names else None)

    # ---- control ---------------------------------------------------------------------------------------------------
    def _poll(self) -> None:
        self.poll_until = time.monotonic() + POLL_GRACE

    def _await(self, statuses: tuple[str, ...], timeout: float, min_step: int = 0) -> None:
        """Wait (briefly) until the trainer publishes one of `statuses` at step ≥ `min_step`, or ends, so the page
        drawn right after a click already shows its effect (a chunk lasts ≈ 50 ms); live polling covers the rest."""
        end = time.monotonic() + timeout
        while self.trainer is not None and time.monotonic() < end:
            s = self.trainer.snapshot()
            if (s.status in statuses and s.step >= min_step) or s.done:
                return
            time.sleep(0.01)

    # ---- model files ---------------------------------------------------------------------------------------------
    def model_bytes(self) -> bytes | None:
        """The current run's latest parameters as a safetensors checkpoint (in memory), or None before any run."""
        s = self.snapshot()
        if s is None:
            return None
        from mlp_lm import checkpoint

        return checkpoint.to_bytes(s.params, s.model_config, self.trainer.dataset.vocab, s.train_config,
                                   extra={"step": s.step, "status": s.status})

    def load_model(self, raw: bytes, values: dict) -> dict:
        """Make an idle run that starts from an uploaded checkpoint (on the current names, whose vocabulary it must
        share). Returns the checkpoint's model settings for the sidebar. Bad files raise MLPLMError and change nothing.
        """
        from mlp_lm import checkpoint
        from mlp_lm.trainer import Trainer

        ck = checkpoint.load(bytes(raw))  # safetensors only: never unpickles
        for name in ("block_size", "emb_dim", "hidden"):
            lo, hi = RANGES[name]
            if not lo <= getattr(ck.model_cfg, name) <= hi:
                raise ConfigError(f"this model's {LABELS[name]} is {getattr(ck.model_cfg, name):,}; the app works with "
                                  f"{lo:,}–{hi:,} (use it with `python -m mlp_lm sample` instead)")
        ds = self.dataset(ck.model_cfg.block_size)
        checkpoint.check_vocab(ck, ds.vocab)
        model_values = {k: getattr(ck.model_cfg, k) for k in ("block_size", "emb_dim", "hidden", "init")}
        _, train = build_configs({**values, **model_values}, len(ds.vocab))
        self._use(Trainer(ds, ck.model_cfg, train, params=ck.params))
        return model_values

    def new_trainer(self, values: dict) -> Trainer:
        """Stop the current trainer (if any) and make an idle one from `values` on the current data.

        Raises MLPLMError (and keeps the current trainer) if the settings or data do not fit.
        """
        from mlp_lm.trainer import Trainer

        ds = self.dataset(int(values["block_size"]))
        model, train = build_configs(values, len(ds.vocab))
        trainer = Trainer(ds, model, train)
        self._use(trainer)
        return trainer

    def _use(self, trainer: Trainer) -> None:
        """Stop the current trainer and make `trainer` the session's run, recorded in the run store (a new run of the
        session's own is what the model pages show from then on)."""
        self.opened = None
        trainer.nice = TRAINER_NICE
        if self.trainer is not None:
            self.trainer.stop(measure=False)  # replaced: it ends at once, recorded as stopped
        self.recorder = self.store.recorder(trainer, self.names.info(), source="app", words=self.names.words)
        self.trainer, self.run_names = trainer, self.names
        self.run_id += 1

    def _needs_new(self, values: dict) -> bool:
        t = self.trainer
        if t is None or t.snapshot().done:
            return True
        return t.snapshot().status == "idle" and not t.alive and bool(self.pending(values))

    def start(self, values: dict) -> None:
        """Start: a new run if there is none (or the last one ended), resume a paused one, else nothing.
        Raises capacity.ServerBusy (and changes nothing) when the server trains its limit of runs."""
        with capacity.admit(self.trainer):
            if self._needs_new(values):
                self.new_trainer(values)
            t = self.trainer
            if t.alive:
                t.resume()
            else:
                t.start()
            capacity.track(t)
        self._poll()
        self._await(("running",), 0.3, min_step=1)  # a new run's first chunk (16 steps) is on the page drawn next

    def pause(self) -> None:
        if self.trainer is not None and not self.trainer.snapshot().done:
            self.trainer.pause()
            self._poll()
            if self.trainer.alive:
                self._await(("paused",), 2.0)

    def resume(self) -> None:
        if self.trainer is not None and not self.trainer.snapshot().done:
            with capacity.admit(self.trainer):
                self.trainer.resume()
                capacity.track(self.trainer)
            self._poll()
            self._await(("running",), 0.3)

    def step(self, n: int, values: dict) -> None:
        """Run n steps then pause (making a paused run first if there is none); capacity.ServerBusy as start()."""
        with capacity.admit(self.trainer):
            if self._needs_new(values):
                self.new_trainer(values)
            target = self.trainer.snapshot().step + int(n)
            self.trainer.step(int(n))
            capacity.track(self.trainer)
        self._poll()
        end = time.monotonic() + 1.0  # a short Step is shown done at once; a long one is followed live
        while time.monotonic() < end:
            s = self.trainer.snapshot()
            if s.done or (s.status == "paused" and s.step >= min(target, s.steps)):
                break
            time.sleep(0.01)

    def stop(self) -> None:
        if self.trainer is not None:
            self.trainer.stop()
            self._poll()

    def reset(self, values: dict) -> None:
        """Stop the current run and make a fresh, idle one from the sidebar settings (step 0, new init)."""
        self.new_trainer(values)
        self._poll()

    def set_lr(self, lr: float, lr2: float | None = None) -> bool:
        """Push a new learning rate into a run that has not ended; True if there was one."""
        t = self.trainer
        if t is None or t.snapshot().done:
            return False
        t.set_lr(float(lr), None if lr2 is None else float(lr2))
        self._poll()
        return True

    def close(self, give_back: bool = True) -> None:
        """The session ended: stop the trainer for good (its slot is free at once) and drop everything held — the
        trainer, its recorder, the opened run, the datasets — then give the memory back to the system (in a thread
        of its own, memory.give_back_soon). Safe from any thread;
        makes no Streamlit call."""
        self.closed = True
        OPEN_HOLDERS.discard(self)
        t = self.trainer
        if t is not None:
            t.stop(measure=False)
        self.trainer = self.recorder = self.opened = self.run_names = None
        self._datasets.clear()
        if give_back:
            memory.give_back_soon()
