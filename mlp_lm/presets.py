"""Named recipes shared by the CLI and the app: model sizes + training settings; explicit settings override them."""
from __future__ import annotations

PRESETS: dict[str, dict] = {
    # The notebook's exact recipe: 27·10 embeddings, 30→200 tanh, SGD 0.1 then 0.01 from step 100,000 (dev ≈ 2.17).
    "lecture": dict(block_size=3, emb_dim=10, hidden=200, init="lecture",
                    steps=200_000, batch_size=32, optimizer="sgd", lr=0.1, lr2=0.01, decay_step=100_000,
                    schedule="step", weight_decay=0.0),
    # Time to lecture quality: part 3's init, Adam, bigger batches and a one-cycle schedule (dev ≤ 2.17 in seconds).
    "fast": dict(block_size=3, emb_dim=10, hidden=200, init="scaled",
                 steps=4_000, batch_size=128, optimizer="adam", lr=1e-2, lr2=0.0, decay_step=None,
                 schedule="onecycle", weight_decay=0.0),
    # The lecture's first model: 2-D embeddings, so the raw scatter of C is the picture from the video.
    "emb2": dict(block_size=3, emb_dim=2, hidden=100, init="lecture",
                 steps=50_000, batch_size=32, optimizer="sgd", lr=0.1, lr2=0.01, decay_step=25_000,
                 schedule="step", weight_decay=0.0),
}
MODEL_KEYS = ("block_size", "emb_dim", "hidden", "init")


def split_preset(name: str) -> tuple[dict, dict]:
    """(ModelConfig fields, TrainConfig fields) of a preset."""
    if name not in PRESETS:
        from .errors import ConfigError

        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    p = PRESETS[name]
    return {k: p[k] for k in MODEL_KEYS}, {k: v for k, v in p.items() if k not in MODEL_KEYS}
