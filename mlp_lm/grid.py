"""Hyperparameter search: the values to try for any setting, as a full grid or N seeded random draws → trial settings.

    spec = SearchSpec({"hidden": (100, 200, 300), "emb_dim": (2, 10)}, base=lecture_base())   # 6 trials
    spec = SearchSpec({"lr": Range(1e-3, 1e-1), "hidden": (100, 300)}, random=8, draw_seed=0)  # 8 draws
    for trial in spec.expand(): ...  # each a flat dict of every ModelConfig (but vocab_size) and TrainConfig field

Not to be confused with the learning-rate range test (sweep.py). The lecture's advice — a systematic search rather
than random tuning — and its scaling experiment (hidden 100/200/300 × embedding 2/10 at block 3) is `SCALING`.
A grid is `itertools.product` in the order the settings were given; random draws are scikit-learn's
`ParameterSampler` (without replacement when every setting is a list of values; a `Range` is drawn log-uniformly
when its low end is above 0, uniformly otherwise). Every trial is validated (ModelConfig / TrainConfig) before any
runs, so a bad value is one ConfigError line, never a failed worker.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, fields

from .config import TrainConfig
from .errors import ConfigError
from .model import ModelConfig
from .presets import split_preset

MAX_TRIALS = 100  # trials in one search: half the run store's cap (MAX_RUNS = 200), so a search never evicts itself
MODEL_PARAMS = tuple(f.name for f in fields(ModelConfig) if f.name != "vocab_size")
TRAIN_PARAMS = tuple(f.name for f in fields(TrainConfig) if f.name != "threads")  # a trial trains on one thread
PARAMS = MODEL_PARAMS + TRAIN_PARAMS  # every setting that can be searched
_TYPES = {**{f.name: f.type for f in fields(ModelConfig)}, **{f.name: f.type for f in fields(TrainConfig)}}


def param_kind(name: str) -> type:
    """int, float or str: how a setting's values are read (decay_step is an int; 'none' means half way)."""
    t = str(_TYPES[name])
    return int if t.startswith("int") else float if t.startswith("float") else str


@dataclass(frozen=True)
class Range:
    """A continuous interval for random draws: log-uniform when lo > 0 (rates, sizes), uniform from 0."""

    lo: float
    hi: float

    def __post_init__(self):
        if not (math.isfinite(self.lo) and math.isfinite(self.hi) and 0 <= self.lo < self.hi):
            raise ConfigError(f"a range needs 0 ≤ low < high, got {self.lo:g}:{self.hi:g}")

    def distribution(self, integer: bool):
        from scipy import stats

        if integer:
            return stats.randint(int(self.lo), int(self.hi) + 1)
        return stats.loguniform(self.lo, self.hi) if self.lo > 0 else stats.uniform(self.lo, self.hi - self.lo)

    def __str__(self) -> str:
        return f"{self.lo:g}:{self.hi:g}"


def parse_values(name: str, text: str) -> tuple | Range:
    """'100,200,300' → (100, 200, 300); '1e-3:1e-1' → Range (random draws only); choices are checked later."""
    if name not in PARAMS:
        raise ConfigError(f"{name} cannot be searched; choose from {', '.join(PARAMS)}")
    kind, text = param_kind(name), str(text).strip()
    if ":" in text and kind is not str:
        lo, _, hi = text.partition(":")
        return Range(_number(name, lo, float), _number(name, hi, float))
    parts = [p.strip() for p in text.split(",")]
    if not text or not all(parts):
        raise ConfigError(f"{name}: give one value or several separated by commas, got {text!r}")
    values = tuple(_number(name, p, kind) if kind is not str else p for p in parts)
    return tuple(dict.fromkeys(values))  # a value listed twice is one trial, not two


def _number(name: str, text: str, kind: type):
    if name == "decay_step" and text.strip().lower() in ("none", "half"):
        return None
    try:
        v = float(text.replace("_", ""))
    except ValueError:
        raise ConfigError(f"{name}: {text.strip()!r} is not a number") from None
    if kind is int:
        if not v.is_integer():
            raise ConfigError(f"{name} must be a whole number, got {text.strip()!r}")
        return int(v)
    return v


def lecture_base() -> dict:
    """Every searchable setting at the lecture's recipe (the `lecture` preset over the dataclass defaults)."""
    model, train = split_preset("lecture")
    return base_settings({**model, **train})


def base_settings(settings: dict | None = None) -> dict:
    """The dataclass defaults for every searchable setting, overridden by `settings` (unknown keys are refused)."""
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(PARAMS) - {"threads", "vocab_size"})
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
    m, t = ModelConfig(), TrainConfig()
    base = {k: getattr(m, k) for k in MODEL_PARAMS} | {k: getattr(t, k) for k in TRAIN_PARAMS}
    return base | {k: v for k, v in settings.items() if k in PARAMS}


@dataclass(frozen=True)
class SearchSpec:
    values: dict                 # setting → the values to try (a tuple), or a Range (random draws only)
    base: dict = field(default_factory=lecture_base)  # every other setting (see base_settings)
    random: int | None = None    # None: the full grid (every combination); N: N seeded random draws
    draw_seed: int = 0           # seeds the random draws: the same seed draws the same trials

    def __post_init__(self):
        for name, v in self.values.items():
            if name not in PARAMS:
                raise ConfigError(f"{name} cannot be searched; choose from {', '.join(PARAMS)}")
            if isinstance(v, Range):
                if self.random is None:
                    raise ConfigError(f"{name}: a range ({v}) needs random draws; list the values for a grid")
                if name in ("decay_step",) or param_kind(name) is str:
                    raise ConfigError(f"{name}: list the values to try (a range only fits a number)")
            elif not isinstance(v, tuple) or not v:
                raise ConfigError(f"{name}: give at least one value to try")
        if self.random is not None and (not isinstance(self.random, int) or not 1 <= self.random <= MAX_TRIALS):
            raise ConfigError(f"random draws must be a whole number from 1 to {MAX_TRIALS}, got {self.random!r}")

    @property
    def varied(self) -> tuple[str, ...]:
        """The settings that differ between trials (a setting with one value is part of every trial)."""
        return tuple(k for k, v in self.values.items() if isinstance(v, Range) or len(v) > 1)

    @property
    def grid_size(self) -> int | None:
        """Combinations of the listed values; None when a Range makes the space continuous."""
        if any(isinstance(v, Range) for v in self.values.values()):
            return None
        return math.prod(len(v) for v in self.values.values())

    @property
    def n_trials(self) -> int:
        return self.random if self.random is not None else self.grid_size

    def expand(self) -> list[dict]:
        """Every trial's full settings (flat dicts, in trial order), each one validated."""
        n, size = self.n_trials, self.grid_size
        if n > MAX_TRIALS:
            raise ConfigError(f"this search has {n:,} trials; at most {MAX_TRIALS} run at once — list fewer values "
                              "or use random draws")
        if self.random is not None and size is not None and self.random > size:
            raise ConfigError(f"{self.random} random draws asked for, but the listed values make only {size} "
                              "combination(s): ask for fewer, or run the full grid")
        base = base_settings(self.base)
        out = [base | combo for combo in self._combos()]
        for s in out:
            configs(s, 27)  # validate now (the vocabulary size comes from the data, later)
        return out

    def _combos(self) -> list[dict]:
        names = list(self.values)
        if self.random is None:
            return [dict(zip(names, vals)) for vals in itertools.product(*(self.values[k] for k in names))]
        from sklearn.model_selection import ParameterSampler

        dists = {k: v.distribution(param_kind(k) is int) if isinstance(v, Range) else list(v)
                 for k, v in self.values.items()}
        draws = list(ParameterSampler(dists, n_iter=self.random, random_state=self.draw_seed))
        # in the order the settings were given; a drawn number as a plain int/float, 3 significant digits
        return [{k: _drawn(d[k], k) if isinstance(self.values[k], Range) else d[k] for k in names} for d in draws]

    def settings_of(self, trial: dict) -> dict:
        """The varied settings of one trial, e.g. {"hidden": 200, "emb_dim": 10}: what names it in a table."""
        return {k: trial[k] for k in self.varied}


def _drawn(v, name: str):
    """A value drawn from a Range: a plain int, or a float kept to 3 significant digits so tables stay readable."""
    v = v.item() if hasattr(v, "item") else v
    return int(v) if param_kind(name) is int else float(f"{v:.3g}")


def configs(settings: dict, vocab_size: int) -> tuple[ModelConfig, TrainConfig]:
    """(ModelConfig, TrainConfig) of one trial's flat settings; raises ConfigError for a bad value."""
    model = ModelConfig(vocab_size=vocab_size, **{k: settings[k] for k in MODEL_PARAMS})
    train = TrainConfig(threads=1, **{k: settings[k] for k in TRAIN_PARAMS})
    return model, train


def trial_name(settings: dict) -> str:
    """A trial's display name from its varied settings: 'hidden=200 emb_dim=10'."""
    return " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.items()) or "trial"


# The lecture's scaling experiment: grow the hidden layer, then the embedding, at block 3 with the lecture's recipe.
SCALING = SearchSpec({"hidden": (100, 200, 300), "emb_dim": (2, 10)}, base=lecture_base() | {"block_size": 3})
