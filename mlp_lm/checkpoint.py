"""Checkpoints as safetensors files: the five tensors plus JSON metadata (model config, vocabulary, train config).

Nothing is ever unpickled: a file is parsed as safetensors (an 8-byte header length, a JSON header, raw tensor
bytes) and checked against its own config before any tensor is returned, so a random, truncated, pickled or
mismatched file ends in one `CheckpointError` line. Files are written to a temporary file and moved into place with
`os.replace`, so a crash never leaves half a checkpoint under the real name.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

from .chars import first_problem, printable
from .data import MAX_VOCAB, TERMINATOR, Vocab
from .errors import CheckpointError, ConfigError
from .files import read_limited
from .header import MAX_HEADER_BYTES, Duplicate, check_tensors, kind, loads_strict, parse_header  # noqa: F401
from .model import PARAM_NAMES, ModelConfig, param_shapes

FORMAT = "mlp_lm.checkpoint"
FORMAT_VERSION = 1
MAX_CHECKPOINT_BYTES = 300_000_000  # the largest allowed model (256 chars, 64 × 256 inputs, 4,096 hidden) is ~273 MB
MAX_ACTIVATION = 1e38               # |pre-activation| and |logit| bounds a loaded model must keep (float32 max 3.4e38)


@dataclass
class Checkpoint:
    params: dict[str, torch.Tensor]   # C, W1, b1, W2, b2 as float32 CPU tensors
    model_cfg: ModelConfig
    vocab: Vocab
    train_cfg: dict | None            # TrainConfig.to_dict() of the run, if saved
    extra: Any = None                 # any JSON the caller saved (e.g. step, losses)


# --------------------------------------------------------------------------------------------------------------- save


def _tensors_and_metadata(params, model_cfg, vocab, train_cfg, extra) -> tuple[dict, dict]:
    if not isinstance(model_cfg, ModelConfig):
        raise CheckpointError(f"cannot save: model_cfg must be a ModelConfig, got {type(model_cfg).__name__}")
    if not isinstance(vocab, Vocab):
        raise CheckpointError(f"cannot save: vocab must be a Vocab, got {type(vocab).__name__}")
    if len(vocab) != model_cfg.vocab_size:
        raise CheckpointError(f"cannot save: the vocabulary has {len(vocab)} characters but the model {model_cfg.vocab_size}")
    if not isinstance(params, dict) or set(PARAM_NAMES) - set(params):
        raise CheckpointError(f"cannot save: params must hold {', '.join(PARAM_NAMES)}")
    tensors = {}
    for name, shape in param_shapes(model_cfg).items():
        t = params[name]
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != shape:
            raise CheckpointError(f"cannot save: {name} must be a tensor of shape {shape}")
        tensors[name] = t.detach().to("cpu", torch.float32).contiguous().clone()
    if train_cfg is not None and not isinstance(train_cfg, dict):
        if not hasattr(train_cfg, "to_dict"):
            raise CheckpointError("cannot save: train_cfg must be a TrainConfig, a dict or None")
        train_cfg = train_cfg.to_dict()
    try:
        metadata = {
            "format": FORMAT,
            "format_version": str(FORMAT_VERSION),
            "model_config": json.dumps(model_cfg.to_dict()),
            "vocab": json.dumps(list(vocab.itos), ensure_ascii=False),
            "train_config": json.dumps(train_cfg),
            "extra": json.dumps(extra, allow_nan=True),
        }
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"cannot save: train_cfg / extra must be JSON-serialisable ({e})") from None
    return tensors, metadata


def to_bytes(params, model_cfg: ModelConfig, vocab: Vocab, train_cfg=None, extra=None) -> bytes:
    """The checkpoint file's bytes (for a download button); `load` reads them back."""
    tensors, metadata = _tensors_and_metadata(params, model_cfg, vocab, train_cfg, extra)
    return safetensors.torch.save(tensors, metadata=metadata)


def save(path: str | Path, params, model_cfg: ModelConfig, vocab: Vocab, train_cfg=None, extra=None) -> Path:
    """Write a checkpoint atomically (temporary file in the same folder, then os.replace); returns the path."""
    tensors, metadata = _tensors_and_metadata(params, model_cfg, vocab, train_cfg, extra)
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"cannot save: {path} is a folder")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        safetensors.torch.save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise CheckpointError(f"cannot save {path}: {e.strerror or e}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
    return path


# --------------------------------------------------------------------------------------------------------------- load


def _read(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(f"the checkpoint is {len(data) / 1e6:.1f} MB; the limit is {MAX_CHECKPOINT_BYTES / 1e6:.0f} MB")
        return data, "the upload"
    if not isinstance(source, (str, os.PathLike)):
        raise CheckpointError(f"a checkpoint is a path or bytes, got {type(source).__name__}")
    path = Path(source)
    data = read_limited(path, MAX_CHECKPOINT_BYTES, CheckpointError, "checkpoint file", missing=f"no checkpoint file at {path}")
    return data, path.name


def _json_field(meta: dict, key: str, what: str):
    try:
        return loads_strict(meta[key])
    except KeyError:
        raise CheckpointError(f"{what} has no {key!r} in its metadata") from None
    except Duplicate as e:
        raise CheckpointError(f"{what} has the key {printable(e.key)[:40]!r} twice in its {key}") from None
    except RecursionError:
        raise CheckpointError(f"{what} has its {key} nested too deeply to read") from None
    except (TypeError, ValueError):
        raise CheckpointError(f"{what} has an unreadable {key!r} in its metadata") from None


def _check_metadata(header: dict, what: str) -> dict:
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{what} is a safetensors file but not an mlp_lm checkpoint (no mlp_lm metadata)")
    for key, value in meta.items():
        if not isinstance(value, str):
            raise CheckpointError(f"{what} has metadata {printable(key)[:40]!r} that is {kind(value)}, not text")
    version = meta.get("format_version", "")
    if not re.fullmatch(r"[0-9]{1,9}", version):
        raise CheckpointError(f"{what} has an unreadable format_version")
    if int(version) > FORMAT_VERSION:
        raise CheckpointError(f"{what} has format version {int(version)}; this mlp_lm reads up to {FORMAT_VERSION}")
    return meta


def _model_config(meta: dict, what: str) -> ModelConfig:
    cfg_dict = _json_field(meta, "model_config", what)
    if not isinstance(cfg_dict, dict) or set(cfg_dict) - set(ModelConfig.__dataclass_fields__):
        raise CheckpointError(f"{what} has a model config this version does not understand")
    for key, value in cfg_dict.items():
        want = str if key == "init" else int
        if type(value) is not want:  # the ranges are ModelConfig's
            raise CheckpointError(f"{what} has an invalid model config: {key} must be "
                                  f"{'text' if want is str else 'a whole number'}, got {kind(value)}")
    try:
        return ModelConfig(**cfg_dict)
    except ConfigError as e:
        raise CheckpointError(f"{what} has an invalid model config: {printable(str(e))[:200]}") from None


def _vocab(meta: dict, what: str, model_cfg: ModelConfig) -> Vocab:
    itos = _json_field(meta, "vocab", what)
    if (
        not isinstance(itos, list)
        or not 2 <= len(itos) <= MAX_VOCAB
        or not all(isinstance(c, str) and len(c) == 1 for c in itos)
        or itos[0] != TERMINATOR
        or len(set(itos)) != len(itos)
    ):
        raise CheckpointError(f"{what} has an invalid vocabulary (must be distinct single characters starting with '.')")
    problem = first_problem("".join(itos[1:]))
    if problem is not None:
        raise CheckpointError(f"{what} has a vocabulary with {problem}, which a name may not contain")
    if len(itos) != model_cfg.vocab_size:
        raise CheckpointError(f"{what} has {len(itos)} characters in its vocabulary but its model config says {model_cfg.vocab_size}")
    return Vocab(tuple(itos))


def _overflow_bound(params: dict[str, torch.Tensor]) -> float:
    """The largest |pre-activation| or |logit| any context can give, bounded in float64 (|tanh| ≤ 1)."""
    p = {k: v.double().abs() for k, v in params.items()}
    T = p["W1"].shape[0] // p["C"].shape[1]
    cmax = p["C"].max(dim=0).values.repeat(T)                 # the largest |C| entry each input of W1 can see
    pre = cmax @ p["W1"] + p["b1"]                            # ≥ |emb @ W1 + b1| for every context
    logits = p["W2"].sum(dim=0) + p["b2"]                     # ≥ |h @ W2 + b2| since |h| ≤ 1
    return max(float(pre.max()), float(logits.max()))


def load(source: str | Path | bytes) -> Checkpoint:
    """Read and check a checkpoint from a path or from bytes (an upload). Never unpickles.

    Every field of the header and the metadata is checked by type and range before use; the tensors must be finite
    and small enough that no context makes the model's float32 outputs overflow. Any other failure while reading
    ends in the same one-line CheckpointError.
    """
    what = "the upload" if isinstance(source, (bytes, bytearray, memoryview)) else "the checkpoint"
    try:
        return _load(source)
    except CheckpointError:
        raise
    except Exception as e:  # anything unforeseen in a crafted file: one clear line, never a traceback
        detail = printable(str(e).splitlines()[0] if str(e) else type(e).__name__)[:120]
        if not isinstance(source, (bytes, bytearray, memoryview)) and isinstance(source, (str, os.PathLike)):
            what = Path(source).name
        raise CheckpointError(f"{what} could not be read as an mlp_lm checkpoint ({detail})") from None


def _load(source) -> Checkpoint:
    data, what = _read(source)
    header = parse_header(data, what)
    meta = _check_metadata(header, what)
    model_cfg = _model_config(meta, what)
    vocab = _vocab(meta, what, model_cfg)
    train_cfg = _json_field(meta, "train_config", what) if "train_config" in meta else None
    if train_cfg is not None and not isinstance(train_cfg, dict):
        raise CheckpointError(f"{what} has a train config that is not a JSON object")
    extra = _json_field(meta, "extra", what) if "extra" in meta else None
    check_tensors(header, what, model_cfg)

    try:
        tensors = safetensors.torch.load(data)
    except Exception as e:  # SafetensorError and anything the Rust parser reports
        raise CheckpointError(f"{what} is corrupt or truncated ({printable(str(e).splitlines()[0])[:120] if str(e) else type(e).__name__})") from None
    params = {}
    for name in PARAM_NAMES:
        t = tensors[name].to(torch.float32).contiguous()
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{what}: {name} contains NaN or infinite values (or values beyond float32's range)")
        params[name] = t
    bound = _overflow_bound(params)
    if not bound <= MAX_ACTIVATION:
        raise CheckpointError(
            f"{what} has weights so large that the model's outputs can overflow: a hidden unit or logit can reach "
            f"{bound:.1e}, beyond the {MAX_ACTIVATION:.0e} float32 computes safely"
        )
    return Checkpoint(params, model_cfg, vocab, train_cfg, extra)


def check_vocab(ckpt: Checkpoint, vocab: Vocab) -> None:
    """Raise CheckpointError unless the checkpoint was trained on exactly this vocabulary (same characters, same order)."""
    ours, theirs = tuple(ckpt.vocab.itos), tuple(vocab.itos)
    if ours == theirs:
        return
    only_data = "".join(sorted(set(theirs) - set(ours)))
    only_ckpt = "".join(sorted(set(ours) - set(theirs)))
    parts = []
    if only_data:
        parts.append(f"the data has {only_data!r} which the checkpoint lacks")
    if only_ckpt:
        parts.append(f"the checkpoint has {only_ckpt!r} which the data lacks")
    detail = "; ".join(parts) if parts else "same characters in a different order"
    raise CheckpointError(
        f"the checkpoint's vocabulary ({len(ours)} characters) differs from the data's ({len(theirs)}): {detail}"
    )
