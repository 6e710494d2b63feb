"""The sidebar's settings as plain data: presets → widget values → (ModelConfig, TrainConfig), and what differs.

No Streamlit here: `values` is a dict keyed like the sidebar widgets (see FIELDS), so this is testable on its own.
"""
from __future__ import annotations

from mlp_lm.config import INITS, OPTIMIZERS, ModelConfig, TrainConfig
from mlp_lm.presets import PRESETS, split_preset
from mlp_lm.schedule import SCHEDULES

# Sidebar label → mlp_lm preset name. The first one is the default.
PRESET_LABELS: dict[str, str] = {
    "Lecture (dev ≈ 2.17)": "lecture",
    "Saturated tanh (broken on purpose)": "saturated",
    "Init fixed (dev ≈ 2.10)": "init_fixed",
    "Fast": "fast",
    "2-D embeddings": "emb2",
    "Beyond the lecture (dev ≈ 1.95)": "beyond",
}
DEFAULT_PRESET = next(iter(PRESET_LABELS))

MODEL_FIELDS = ("block_size", "emb_dim", "hidden", "init")
TRAIN_FIELDS = ("steps", "batch_size", "optimizer", "lr", "lr2", "decay_step", "schedule", "weight_decay", "seed")
FIELDS = MODEL_FIELDS + TRAIN_FIELDS + ("eval_every",)

# Widget ranges (the issue's): block_size 1–16, embedding 2–64, hidden 8–1024.
RANGES = {
    "block_size": (1, 16),
    "emb_dim": (2, 64),
    "hidden": (8, 1024),
    "steps": (1, 5_000_000),
    "lr": (1e-6, 10.0),
    "lr2": (0.0, 10.0),
    "weight_decay": (0.0, 1.0),
    "seed": (0, 2**32 - 1),
}
BATCH_SIZES = (1, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
OPTIMIZER_CHOICES = OPTIMIZERS
SCHEDULE_CHOICES = SCHEDULES
INIT_CHOICES = INITS
EVAL_CHOICES = ("auto", 500, 1_000, 2_000, 5_000, 10_000, 20_000)
STEP_CHOICES = (1, 10, 100, 1_000, 10_000)

LABELS = {
    "block_size": "context (block_size)", "emb_dim": "embedding dim", "hidden": "hidden units", "init": "init",
    "steps": "steps", "batch_size": "batch size", "optimizer": "optimizer", "lr": "learning rate",
    "lr2": "lr2 (decayed rate)", "decay_step": "lr2 from step", "schedule": "schedule",
    "weight_decay": "weight decay", "seed": "seed", "eval_every": "evaluate every", "data": "data",
}


def preset_values(label: str) -> dict:
    """Widget values a preset sets (label or mlp_lm preset name); fields it leaves open (the seed) are not included."""
    name = PRESET_LABELS.get(label, label)
    model, train = split_preset(name)
    v = {**model, **train}
    if v.get("decay_step") is None:
        v["decay_step"] = v["steps"] // 2
    v["eval_every"] = "auto"
    return {k: v[k] for k in FIELDS if k in v}


def default_values(label: str = DEFAULT_PRESET) -> dict:
    """Every widget's starting value: the preset's, then TrainConfig's defaults (e.g. the lecture's seed)."""
    base = TrainConfig()
    return {k: getattr(base, k) for k in TRAIN_FIELDS} | preset_values(label)


def preset_of(model: ModelConfig, train: TrainConfig) -> str | None:
    """The mlp_lm preset whose recipe these configs follow (the seed aside), or None for settings of one's own."""
    for name in PRESET_LABELS.values():
        m, t = split_preset(name)
        t = {**t, "decay_step": t.get("decay_step") or t["steps"] // 2}
        if all(getattr(model, k) == v for k, v in m.items()) and all(
                (train.decay_at if k == "decay_step" else getattr(train, k)) == v for k, v in t.items()):
            return name
    return None


def eval_interval(steps: int, choice) -> int:
    """Steps between train/dev evaluations: cheap enough for a live app (≈ 20 per run, 500–10,000 apart)."""
    if choice == "auto":
        return int(min(10_000, max(500, steps // 20)))
    return int(choice)


def build_configs(values: dict, vocab_size: int) -> tuple[ModelConfig, TrainConfig]:
    """(ModelConfig, TrainConfig) from widget values; raises mlp_lm's ConfigError for bad ones."""
    model = ModelConfig(
        block_size=int(values["block_size"]), emb_dim=int(values["emb_dim"]), hidden=int(values["hidden"]),
        vocab_size=int(vocab_size), init=values["init"],
    )
    steps = int(values["steps"])
    decay = values.get("decay_step")
    train = TrainConfig(
        steps=steps, batch_size=int(values["batch_size"]), optimizer=values["optimizer"], lr=float(values["lr"]),
        lr2=float(values["lr2"]), decay_step=None if decay is None else int(decay), schedule=values["schedule"],
        weight_decay=float(values["weight_decay"]), seed=int(values["seed"]),
        eval_interval=eval_interval(steps, values.get("eval_every", "auto")), threads=1,
    )
    return model, train


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def pending_changes(model_new: ModelConfig, train_new: TrainConfig, model_run: ModelConfig, train_run: TrainConfig,
                    data_new: str | None = None, data_run: str | None = None) -> list[str]:
    """Human-readable "field: run value → sidebar value" for settings that only apply to the next run.

    The live fields (lr, lr2) only show up when they were not pushed into the run (the sidebar pushes every edit of
    them into a run in progress, but not a preset's values, which are meant for the next run).
    """
    out = []
    for f in MODEL_FIELDS:
        a, b = getattr(model_run, f), getattr(model_new, f)
        if a != b:
            out.append(f"{LABELS[f]}: {_fmt(a)} → {_fmt(b)}")
    if model_run.vocab_size != model_new.vocab_size:
        out.append(f"vocabulary: {model_run.vocab_size} → {model_new.vocab_size} characters")
    for f in TRAIN_FIELDS + ("eval_interval",):
        a, b = getattr(train_run, f), getattr(train_new, f)
        if f == "decay_step":
            a, b = train_run.decay_at, train_new.decay_at
        if a != b:
            out.append(f"{LABELS.get(f, f.replace('_', ' '))}: {_fmt(a)} → {_fmt(b)}")
    if data_new is not None and data_run is not None and data_new != data_run:
        out.append(f"data: {data_run} → {data_new}")
    return out


assert set(PRESET_LABELS.values()) <= set(PRESETS), "a sidebar preset is missing from mlp_lm.presets"
