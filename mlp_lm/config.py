"""Training settings: one dataclass, a comment per field, validated on creation (bad values raise ConfigError).

Also the model's settings (`ModelConfig`, the parameters' names and shapes) and the choices of every setting
(optimizers, engines, inits, the lecture's seed), here so the CLI can build its --help and the app its first page
without importing torch (mlp_lm/model.py re-exports them).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from .errors import ConfigError
from .schedule import SCHEDULES

LECTURE_SEED = 2147483647  # the notebook's torch.Generator().manual_seed(2147483647)
INITS = ("lecture", "saturated", "scaled")  # ModelConfig.init, part 3's steps: plain randn → softmax fixed (tanh
                                            # still saturated) → both fixed; see model.init_params
OPTIMIZERS = ("sgd", "adam", "adamw")
ENGINES = ("auto", "fast", "reference")
MAX_STEPS = 100_000_000
MAX_BATCH = 65_536


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 200_000           # optimisation steps in the run (the lecture: 200,000)
    batch_size: int = 32           # examples per minibatch, drawn with replacement from the training split
    optimizer: str = "sgd"         # "sgd" (the lecture's p.data += -lr * p.grad), "adam" or "adamw"
    lr: float = 0.1                # learning rate (peak rate for cosine/onecycle)
    lr2: float = 0.01              # the lecture's decayed rate (step schedule) / final rate (cosine)
    decay_step: int | None = None  # step at which lr becomes lr2 in the step schedule; None = half way
    schedule: str = "step"         # "step" (lecture), "constant", "cosine" or "onecycle"
    weight_decay: float = 0.0      # L2 penalty added to the gradient (sgd, adam) or decoupled decay (adamw)
    seed: int = LECTURE_SEED       # seeds the parameter init (as the notebook) and, with seed+1, the minibatches
    eval_interval: int = 10_000    # evaluate train (subsample) and dev loss every this many steps; 0 = only at the end
    eval_train_rows: int = 20_000  # rows of the training split used for the periodic train-loss estimate
    device: str = "cpu"            # "cpu", "cuda" or "mps"; an accelerator is used only when asked and present
    threads: int = 1               # torch.set_num_threads for the run; 1 is fastest for this model on small machines
    engine: str = "auto"           # "fast" (fused CPU kernel), "reference" (autograd, any device) or "auto"

    def __post_init__(self):
        def whole(name, lo, hi):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise ConfigError(f"{name} must be a whole number from {lo:,} to {hi:,}, got {v!r}")

        whole("steps", 0, MAX_STEPS)
        whole("batch_size", 1, MAX_BATCH)
        whole("eval_interval", 0, MAX_STEPS)
        whole("eval_train_rows", 1, 10_000_000)
        whole("threads", 1, 256)
        whole("seed", 0, 2**63 - 1)
        if self.decay_step is not None:
            whole("decay_step", 0, MAX_STEPS)
        for name in ("lr", "lr2", "weight_decay"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"{name} must be a finite number ≥ 0, got {v!r}")
        for name, allowed in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("engine", ENGINES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.device not in ("cpu", "cuda", "mps") and not self.device.startswith("cuda:"):
            raise ConfigError(f"device must be cpu, cuda or mps, got {self.device!r}")

    @property
    def decay_at(self) -> int:
        """The step where the step schedule switches to lr2."""
        return self.steps // 2 if self.decay_step is None else self.decay_step

    def replace(self, **changes) -> "TrainConfig":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)


PARAM_NAMES = ("C", "W1", "b1", "W2", "b2")


@dataclass(frozen=True)
class ModelConfig:
    block_size: int = 3     # characters of context fed to the model
    emb_dim: int = 10       # size of each character's embedding row in C
    hidden: int = 200       # tanh units in the hidden layer
    vocab_size: int = 27    # characters including '.' (index 0)
    init: str = "lecture"   # "lecture": plain randn (loss ~27 at init); "saturated": softmax fixed, tanh saturated;
                            # "scaled": part 3's both fixes (softmax and Kaiming-style tanh)

    def __post_init__(self):
        for name, lo, hi in (("block_size", 1, 64), ("emb_dim", 1, 256), ("hidden", 1, 4096), ("vocab_size", 2, 256)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
                raise ConfigError(f"{name} must be a whole number from {lo} to {hi}, got {v!r}")
        if self.init not in INITS:
            raise ConfigError(f"init must be one of {', '.join(INITS)}, got {self.init!r}")

    @property
    def n_params(self) -> int:
        """Number of scalars in C, W1, b1, W2, b2 (11,897 for the lecture's 27/3/10/200)."""
        V, E, H, T = self.vocab_size, self.emb_dim, self.hidden, self.block_size
        return V * E + T * E * H + H + H * V + V

    def to_dict(self) -> dict:
        return asdict(self)


def param_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    V, E, H, T = cfg.vocab_size, cfg.emb_dim, cfg.hidden, cfg.block_size
    return {"C": (V, E), "W1": (T * E, H), "b1": (H,), "W2": (H, V), "b2": (V,)}
