"""The Bengio et al. 2003 MLP of makemore part 2: C[X] → view → tanh(· W1 + b1) → · W2 + b2 → logits.

Parameters are a plain dict of tensors named as in the lecture (C, W1, b1, W2, b2). `forward` is the readable
reference every faster path is tested against. `ModelConfig` and the parameters' names and shapes live in config.py
(torch-free, for the CLI's --help and the app's first page) and are re-exported here.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import INITS, LECTURE_SEED, PARAM_NAMES, ModelConfig, param_shapes  # noqa: F401  (re-exported)

def init_params(cfg: ModelConfig, seed: int = LECTURE_SEED, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Draw C, W1, b1, W2, b2 in the notebook's order from torch.Generator().manual_seed(seed).

    "lecture" is exactly `torch.randn(shape, generator=g)` for each: large logits, so the first loss is ~27
    ("confidently wrong"). Part 3 fixes it in two steps, multiplying those same draws:
    "saturated" — the softmax fix only: W2 by 0.01, b2 by 0 (first loss ≈ −ln(1/V) ≈ 3.3), but W1 and b1 stay
    plain randn, so the pre-activations have std ≈ sqrt(fan_in) and most tanh units sit at ±1 (no gradient);
    "scaled" — both fixes: also W1 by (5/3)/sqrt(fan_in) (Kaiming for tanh) and b1 by 0.01.
    """
    g = torch.Generator().manual_seed(seed)
    p = {name: torch.randn(shape, generator=g) for name, shape in param_shapes(cfg).items()}
    if cfg.init in ("saturated", "scaled"):
        p["W2"] *= 0.01
        p["b2"] *= 0.0
    if cfg.init == "scaled":
        fan_in = cfg.block_size * cfg.emb_dim
        p["W1"] *= (5 / 3) / math.sqrt(fan_in)
        p["b1"] *= 0.01
    return {k: v.to(device) for k, v in p.items()}


def hidden_layer(params: dict[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
    """h = tanh(C[X].view(N, -1) @ W1 + b1): the hidden activations (diagnostics.health measures their saturation)."""
    emb = params["C"][X]
    return torch.tanh(emb.view(emb.shape[0], -1) @ params["W1"] + params["b1"])


def forward(params: dict[str, torch.Tensor], X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (logits, h) for a batch of contexts X (N, block_size)."""
    h = hidden_layer(params, X)
    return h @ params["W2"] + params["b2"], h


def loss_fn(params: dict[str, torch.Tensor], X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of the next character, with F.cross_entropy as in the lecture."""
    logits, _ = forward(params, X)
    return F.cross_entropy(logits, Y)


def manual_loss(params: dict[str, torch.Tensor], X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """The lecture's first version: counts = logits.exp(); prob = counts / counts.sum(1); -prob[range, Y].log().mean()."""
    logits, _ = forward(params, X)
    counts = logits.exp()
    prob = counts / counts.sum(1, keepdims=True)
    return -prob[torch.arange(len(Y)), Y].log().mean()


@torch.inference_mode()
def evaluate(params: dict[str, torch.Tensor], X: torch.Tensor, Y: torch.Tensor, chunk: int = 32768) -> float:
    """Mean cross-entropy over a whole split, in chunks so memory stays small; nan for an empty split."""
    if len(Y) == 0:
        return float("nan")
    device = params["C"].device
    total = 0.0
    for i in range(0, len(Y), chunk):
        xb, yb = X[i : i + chunk].to(device), Y[i : i + chunk].to(device)
        emb = params["C"][xb].view(len(yb), -1)
        h = torch.addmm(params["b1"], emb, params["W1"]).tanh_()
        logits = torch.addmm(params["b2"], h, params["W2"])
        total += F.cross_entropy(logits, yb, reduction="sum").item()
    return total / len(Y)
