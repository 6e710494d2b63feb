"""Named recipes shared by the CLI and the app: model sizes + training settings; explicit settings override them.

A ladder after the lecture's stages, each with the dev loss it is known to reach on data/names.txt (`TARGETS`), so
a chart can draw each preset's own reference line (it means something only on the default names list):
lecture (part 2) → saturated (part 3's softmax fix alone: tanh saturated, on purpose) → init_fixed (part 3's both
fixes) → fast (the same quality in seconds) and emb2 (the 2-D picture) → beyond (past part 5's WaveNet).
"""
from __future__ import annotations

from dataclasses import dataclass

_LECTURE_SGD = dict(steps=200_000, batch_size=32, optimizer="sgd", lr=0.1, lr2=0.01, decay_step=100_000,
                    schedule="step", weight_decay=0.0)

PRESETS: dict[str, dict] = {
    # The notebook's exact recipe: 27·10 embeddings, 30→200 tanh, SGD 0.1 then 0.01 from step 100,000 (dev ≈ 2.17).
    "lecture": dict(block_size=3, emb_dim=10, hidden=200, init="lecture",
                    steps=200_000, batch_size=32, optimizer="sgd", lr=0.1, lr2=0.01, decay_step=100_000,
                    schedule="step", weight_decay=0.0),
    # Part 3, first fix only: W2 and b2 scaled down (initial loss ≈ 3.30, not ~27), but W1 still plain randn, so
    # ~70 % of the tanh units start saturated (|h| > 0.97): broken on purpose, for the health panel to show it.
    "saturated": dict(block_size=3, emb_dim=10, hidden=200, init="saturated", **_LECTURE_SGD),
    # Part 3, both fixes (softmax and Kaiming-scaled W1): the lecture's recipe otherwise (dev ≈ 2.10 in part 3).
    "init_fixed": dict(block_size=3, emb_dim=10, hidden=200, init="scaled", **_LECTURE_SGD),
    # Time to lecture quality: part 3's init, Adam, bigger batches and a one-cycle schedule (dev ≤ 2.17 in seconds).
    "fast": dict(block_size=3, emb_dim=10, hidden=200, init="scaled",
                 steps=4_000, batch_size=128, optimizer="adam", lr=1e-2, lr2=0.0, decay_step=None,
                 schedule="onecycle", weight_decay=0.0),
    # The lecture's first model: 2-D embeddings, so the raw scatter of C is the picture from the video.
    "emb2": dict(block_size=3, emb_dim=2, hidden=100, init="lecture",
                 steps=50_000, batch_size=32, optimizer="sgd", lr=0.1, lr2=0.01, decay_step=25_000,
                 schedule="step", weight_decay=0.0),
    # Past the lecture with a flat MLP: 8 characters of context, a wide hidden layer, AdamW with one-cycle and
    # weight decay (0.05 overfits, 0.15 underfits); the fast kernel's lookup-table first layer makes it cheap:
    # dev ≈ 1.95 in ~20 s on one core (bench/bench_beyond.py), past part 5's WaveNet (1.993).
    "beyond": dict(block_size=8, emb_dim=32, hidden=512, init="scaled",
                   steps=15_000, batch_size=256, optimizer="adamw", lr=5e-3, lr2=0.0, decay_step=None,
                   schedule="onecycle", weight_decay=0.08),
}
MODEL_KEYS = ("block_size", "emb_dim", "hidden", "init")


@dataclass(frozen=True)
class Target:
    dev: float   # the dev loss the preset is known to reach (data/names.txt, the lecture's 80/10/10 split)
    label: str   # where the number comes from: the chart's reference line reads "<label> <dev>"


TARGETS: dict[str, Target] = {
    "lecture": Target(2.17, "makemore part 2"),
    "saturated": Target(2.13, "part 3, softmax fixed only"),
    "init_fixed": Target(2.10, "part 3, init fixed"),
    "fast": Target(2.17, "lecture quality"),
    "emb2": Target(2.36, "2-D embeddings (measured here)"),
    "beyond": Target(1.98, "goal, past part 5's WaveNet (1.993)"),
}
assert set(TARGETS) == set(PRESETS), "every preset needs its target line"


def target(name: str) -> Target | None:
    """The reference line of a preset (None for an unknown name)."""
    return TARGETS.get(name)


def split_preset(name: str) -> tuple[dict, dict]:
    """(ModelConfig fields, TrainConfig fields) of a preset."""
    if name not in PRESETS:
        from .errors import ConfigError

        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    p = PRESETS[name]
    return {k: p[k] for k in MODEL_KEYS}, {k: v for k, v in p.items() if k not in MODEL_KEYS}
