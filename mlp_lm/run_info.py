"""What a run folder's run.json says: the run's description as the store lists it (RunInfo), read defensively.

    info = _info(run_id, json.loads(run_json), label)   # ValueError for anything of the wrong type or format
    info.settings, info.dev_loss, info.lr_changes

Also the data's description (DataInfo) and its content fingerprint, which name a names list in the store.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

RUN_FORMAT = "mlp_lm.run"
MAX_NAME = 80           # characters in a run's display name


def fingerprint(words) -> str:
    """A names list's content fingerprint: the first 16 hex digits of sha1("\\n".join(words))."""
    return hashlib.sha1("\n".join(words).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class DataInfo:
    name: str          # display name ("names.txt (default)", an upload's file name, …)
    fingerprint: str   # fingerprint(words)
    n_names: int
    default: bool = False  # the default data/names.txt

    @classmethod
    def of(cls, words, name: str, default: bool = False) -> "DataInfo":
        words = list(words)
        return cls(str(name), fingerprint(words), len(words), bool(default))

    def to_dict(self) -> dict:
        return {"name": self.name, "fingerprint": self.fingerprint, "n_names": self.n_names, "default": self.default}


SETTING_KEYS = ("block_size", "emb_dim", "hidden", "init", "steps", "batch_size", "optimizer", "lr", "lr2",
                "decay_step", "schedule", "weight_decay", "seed")


@dataclass(frozen=True)
class RunInfo:
    id: str
    name: str
    status: str
    created: str
    updated: str
    source: str
    sweep: str | None
    pinned: bool
    step: int
    steps: int
    seconds: float
    steps_per_s: float
    model: dict
    train: dict
    data: dict
    final: dict | None
    last_eval: dict | None
    message: str
    n_params: int
    lr_changes: tuple = ()  # ({"step", "lr", "lr2"}, …): learning-rate changes made by hand while the run trained

    @property
    def settings(self) -> dict:
        """The settings as one flat dict (for a runs table and its "differences only" view)."""
        both = {**self.train, **self.model}
        out = {k: both.get(k) for k in SETTING_KEYS}
        if out["decay_step"] is None and isinstance(out["steps"], int):
            out["decay_step"] = out["steps"] // 2
        out["data"] = self.data.get("name")
        return out

    @property
    def dev_loss(self) -> float | None:
        """The final dev loss, else the latest evaluation's."""
        src = self.final or self.last_eval or {}
        v = src.get("dev_loss")
        return float(v) if isinstance(v, (int, float)) else None


def _typed(d: dict, key: str, types, default=None):
    v = d.get(key, default)
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,))):
        raise ValueError(f"field {key!r} has the wrong type")
    return v


def _info(run_id: str, raw: dict, label: dict) -> RunInfo:
    if raw.get("format") != RUN_FORMAT:
        raise ValueError("not an mlp_lm run (no run.json of that format)")
    num = (int, float)
    final = raw.get("final")
    last = raw.get("last_eval")
    name = label.get("name") if isinstance(label.get("name"), str) else _typed(raw, "name", str)
    return RunInfo(
        id=run_id, name=name[:MAX_NAME], status=_typed(raw, "status", str), created=_typed(raw, "created", str),
        updated=_typed(raw, "updated", str), source=_typed(raw, "source", str),
        sweep=_typed(raw, "sweep", (str, type(None))), pinned=label.get("pinned") is True,
        step=_typed(raw, "step", int), steps=_typed(raw, "steps", int), seconds=float(_typed(raw, "seconds", num)),
        steps_per_s=float(_typed(raw, "steps_per_s", num)), model=_typed(raw, "model", dict),
        train=_typed(raw, "train", dict), data=_typed(raw, "data", dict),
        final=final if isinstance(final, dict) else None, last_eval=last if isinstance(last, dict) else None,
        message=str(raw.get("message") or ""), n_params=_typed(raw, "n_params", int),
        lr_changes=tuple(c for c in raw.get("lr_changes") or () if isinstance(c, dict)
                         and all(isinstance(c.get(k), (int, float)) and not isinstance(c.get(k), bool)
                                 for k in ("step", "lr", "lr2"))),
    )
