"""Sampling names from the MLP, one character at a time, with every step's distribution kept for display.

The lecture's loop: start from `block_size` dots, embed the context, softmax the logits, draw the next index with
`torch.multinomial(probs, 1, generator=g)`, shift it into the context, stop at '.'. With temperature 1 and no
top-k / top-p the draws are exactly the notebook's (its seed is 2147483647 + 10, the default here).
Temperature divides the logits; top-k keeps the k most likely characters; top-p keeps the smallest set of most likely
characters whose probability adds up to at least p; what remains is renormalised and sampled from. Everything but
the lecture's plain softmax is computed in float64 from log-probabilities, so no setting ends in NaN (see
`distribution`), and a model whose float32 logits overflow is evaluated in float64.
`score` gives a name's per-character probabilities and negative log-likelihood; `label` says where a name came from.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .data import MAX_WORD_LEN, TERMINATOR, Vocab
from .errors import ConfigError, DataError
from .model import LECTURE_SEED, PARAM_NAMES

SAMPLE_SEED = LECTURE_SEED + 10  # the notebook's sampling generator
MAX_SAMPLES = 10_000
MAX_LEN = 1_000


@dataclass
class Step:
    """One draw: the context the model saw, the distribution sampled from, and what came out."""

    context: str        # the block_size characters fed to the model, e.g. "..e"
    probs: np.ndarray   # (V,) the distribution actually sampled from (after temperature / top-k / top-p)
    chosen: int         # index drawn
    char: str           # itos[chosen]

    @property
    def p(self) -> float:
        """Probability of the character drawn."""
        return float(self.probs[self.chosen])


@dataclass
class Sample:
    name: str            # the characters drawn, without the final '.'
    steps: list[Step]    # one per character drawn, the last normally being '.'

    @property
    def ended(self) -> bool:
        """True if the name ended with '.', False if it was cut at max_len."""
        return bool(self.steps) and self.steps[-1].chosen == 0


@dataclass
class Score:
    """How likely the model finds a name: one entry per character of name + '.'."""

    name: str
    chars: list[str]       # the characters scored, the last being '.'
    contexts: list[str]    # the context each was predicted from
    probs: np.ndarray      # (L+1,) probability of each character given its context
    nll: float             # total negative log-likelihood, −Σ log p
    mean_nll: float        # nll / (L+1), comparable with the training loss


# ------------------------------------------------------------------------------------------------------------ checks


def _check_model(params, vocab: Vocab, block_size: int) -> None:
    if not isinstance(params, dict) or set(PARAM_NAMES) - set(params):
        raise ConfigError(f"params must be a dict with {', '.join(PARAM_NAMES)}")
    if not isinstance(vocab, Vocab):
        raise ConfigError(f"vocab must be a Vocab, got {type(vocab).__name__}")
    if not isinstance(block_size, int) or isinstance(block_size, bool) or block_size < 1:
        raise ConfigError(f"block_size must be a whole number ≥ 1, got {block_size!r}")
    V, E = params["C"].shape
    if V != len(vocab):
        raise ConfigError(f"the model has {V} characters but the vocabulary has {len(vocab)}")
    if params["W1"].shape[0] != block_size * E:
        raise ConfigError(f"W1 expects {params['W1'].shape[0] // E} characters of context, not block_size={block_size}")


def _check_filters(temperature, top_k, top_p) -> None:
    if not isinstance(temperature, (int, float)) or isinstance(temperature, bool) or not math.isfinite(temperature) or temperature <= 0:
        raise ConfigError(f"temperature must be a number > 0, got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1):
        raise ConfigError(f"top_k must be a whole number ≥ 1 or None, got {top_k!r}")
    if top_p is not None and (not isinstance(top_p, (int, float)) or isinstance(top_p, bool) or not 0 < top_p <= 1):
        raise ConfigError(f"top_p must be a number with 0 < top_p ≤ 1 or None, got {top_p!r}")


def _generator(seed) -> torch.Generator:
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
        raise ConfigError(f"seed must be a whole number from 0 to 2**63 - 1, got {seed!r}")
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------------------------ distribution


def distribution(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """logits (1, V) → the probabilities to sample from (1, V), float32.

    Plain `F.softmax(logits, dim=1)` for float32 logits when temperature is 1 and there is no filter (the lecture's
    exact numbers). Otherwise it is computed in float64 from log-probabilities, so any temperature > 0 and any
    0 < top_p ≤ 1 is safe: logits - max never overflows, a temperature far below float32's range (1e-46) is greedy
    (the most likely character gets everything), a tiny top_p keeps the most likely character. NaN logits raise
    ConfigError; +inf logits share the probability between them.
    """
    plain = temperature == 1.0 and (top_k is None or top_k >= logits.shape[1]) and (top_p is None or top_p >= 1.0)
    if plain and logits.dtype == torch.float32 and bool(torch.isfinite(logits).all()):
        return F.softmax(logits, dim=1)
    z = logits.detach().to(torch.float64)
    if bool(torch.isnan(z).any()):
        raise ConfigError("the model's logits contain NaN; it cannot be sampled (its weights are not usable)")
    top = torch.isposinf(z)
    if bool(top.any()):  # the characters with +inf share the probability
        z = torch.where(top, 0.0, float("-inf"))
    z = (z - z.max(dim=1, keepdim=True).values) / float(temperature)  # max → 0: no inf - inf for any temperature
    if top_k is not None and top_k < z.shape[1]:
        kept = torch.topk(z, top_k, dim=1)
        z = torch.full_like(z, float("-inf")).scatter_(1, kept.indices, kept.values)  # exactly k survive
    probs = F.log_softmax(z, dim=1).exp()
    if top_p is not None and top_p < 1.0:
        sorted_p, order = torch.sort(probs, dim=1, descending=True)
        mass_before = torch.cumsum(sorted_p, dim=1) - sorted_p
        drop_sorted = mass_before >= float(top_p)          # keep until the kept mass first reaches top_p
        drop_sorted[:, 0] = False                          # the most likely character always stays
        drop = torch.zeros_like(drop_sorted).scatter_(1, order, drop_sorted)
        probs = probs.masked_fill(drop, 0.0)
        probs = probs / probs.sum(dim=1, keepdim=True)
    return probs.to(torch.float32)


def _forward(params, X: torch.Tensor) -> torch.Tensor:
    emb = params["C"][X]
    h = torch.tanh(emb.view(len(X), -1) @ params["W1"] + params["b1"])
    return h @ params["W2"] + params["b2"]


def _logits(params, context: list[int]) -> torch.Tensor:
    """The model's logits (1, V) for one context: float32 as in the lecture, float64 if float32 overflows."""
    X = torch.tensor([context])
    logits = _forward(params, X)
    if bool(torch.isfinite(logits).all()):
        return logits
    return _forward({k: v.double() for k, v in params.items()}, X)  # finite float32 weights never overflow float64


def _draw(params, vocab: Vocab, context: list[int], g, temperature, top_k, top_p) -> Step:
    probs = distribution(_logits(params, context), temperature, top_k, top_p)
    ix = torch.multinomial(probs, num_samples=1, generator=g).item()
    return Step(vocab.decode(context), probs[0].double().numpy(), ix, vocab.itos[ix])


# ------------------------------------------------------------------------------------------------------------ public


@torch.no_grad()
def sample(
    params: dict[str, torch.Tensor],
    vocab: Vocab,
    block_size: int,
    n: int = 20,
    *,
    seed: int = SAMPLE_SEED,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    max_len: int = 50,
) -> list[Sample]:
    """Draw `n` names with one seeded generator (same seed and settings → same names).

    Each name stops at '.' or after `max_len` characters (then it has no final '.' and `Sample.ended` is False).
    """
    _check_model(params, vocab, block_size)
    _check_filters(temperature, top_k, top_p)
    if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= MAX_SAMPLES:
        raise ConfigError(f"n must be a whole number from 0 to {MAX_SAMPLES:,}, got {n!r}")
    if not isinstance(max_len, int) or isinstance(max_len, bool) or not 1 <= max_len <= MAX_LEN:
        raise ConfigError(f"max_len must be a whole number from 1 to {MAX_LEN:,}, got {max_len!r}")
    g = _generator(seed)
    params = {k: params[k].detach().to("cpu", torch.float32) for k in PARAM_NAMES}
    out = []
    for _ in range(n):
        context = [0] * block_size
        steps: list[Step] = []
        while len(steps) < max_len:
            step = _draw(params, vocab, context, g, temperature, top_k, top_p)
            steps.append(step)
            context = context[1:] + [step.chosen]
            if step.chosen == 0:
                break
        name = "".join(s.char for s in steps if s.chosen != 0)
        out.append(Sample(name, steps))
    return out


def _encode_name(vocab: Vocab, name: str, what: str) -> list[int]:
    if not isinstance(name, str):
        raise DataError(f"the {what} must be text, got {type(name).__name__}")
    if TERMINATOR in name:
        raise DataError(f"the {what} {name[:20]!r} contains '{TERMINATOR}', which marks the end of a name")
    if len(name) > MAX_WORD_LEN:
        raise DataError(f"the {what} is {len(name)} characters long; a name may have at most {MAX_WORD_LEN}")
    return vocab.encode(name)


@torch.no_grad()
def next_step(
    params: dict[str, torch.Tensor],
    vocab: Vocab,
    block_size: int,
    prefix: str,
    *,
    generator: torch.Generator | None = None,
    seed: int = SAMPLE_SEED,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> Step:
    """The next character after `prefix` (the name so far, without dots), for a "Next character" button.

    With `generator` the draw consumes it (keep one per session for a stream of draws); otherwise a fresh generator
    seeded with seed + len(prefix) is used, so the same seed and prefix always give the same step.
    """
    _check_model(params, vocab, block_size)
    _check_filters(temperature, top_k, top_p)
    ix = _encode_name(vocab, prefix, "prefix")
    context = ([0] * block_size + ix)[-block_size:]
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ConfigError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if generator is None:
        generator = _generator(seed)
        generator.manual_seed((seed + len(prefix)) % 2**63)
    params = {k: params[k].detach().to("cpu", torch.float32) for k in PARAM_NAMES}
    return _draw(params, vocab, context, generator, temperature, top_k, top_p)


@torch.no_grad()
def score(params: dict[str, torch.Tensor], vocab: Vocab, block_size: int, name: str) -> Score:
    """Probability of each character of `name` + '.' under the model, and the name's NLL.

    Computed in float64 with log-softmax, so a model with very large (finite) weights still gives finite numbers.
    """
    _check_model(params, vocab, block_size)
    ix = _encode_name(vocab, name, "name")
    if not ix:
        raise DataError("the name is empty")
    seq = [0] * block_size + ix + [0]
    X = torch.tensor([seq[i : i + block_size] for i in range(len(ix) + 1)])
    Y = torch.tensor(seq[block_size:])
    p = {k: params[k].detach().to("cpu", torch.float64) for k in PARAM_NAMES}  # float64: no overflow, ever
    logp = F.log_softmax(_forward(p, X), dim=1)[torch.arange(len(Y)), Y]
    nll = float(-logp.sum())
    return Score(
        name=name,
        chars=[vocab.itos[i] for i in Y.tolist()],
        contexts=[vocab.decode(row) for row in X.tolist()],
        probs=logp.exp().numpy(),
        nll=nll,
        mean_nll=nll / len(Y),
    )


def label(names, dataset) -> list[str]:
    """For each name: "train" if it is in the training split, "dev/test" if only in dev or test, else "novel"."""
    train, held_out = dataset.split_sets
    return ["train" if w in train else "dev/test" if w in held_out else "novel" for w in names]
