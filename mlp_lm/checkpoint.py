"""Checkpoints as safetensors files: the five tensors plus JSON metadata (model config, vocabulary, train config).

Nothing is ever unpickled: a file is parsed as safetensors (an 8-byte header length, a JSON header, raw tensor
bytes) and checked against its own config before any tensor is returned, so a random, truncated, pickled or
mismatched file ends in one `CheckpointError` line. Files are written to a temporary file and moved into place with
`os.replace`, so a crash never leaves half a checkpoint under the real name.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

from .data import MAX_VOCAB, TERMINATOR, Vocab
from .errors import CheckpointError, ConfigError
from .model import PARAM_NAMES, ModelConfig, param_shapes

FORMAT = "mlp_lm.checkpoint"
FORMAT_VERSION = 1
MAX_CHECKPOINT_BYTES = 300_000_000  # the largest allowed model (256 chars, 64 × 256 inputs, 4,096 hidden) is ~273 MB
MAX_HEADER_BYTES = 100_000_000      # safetensors' own limit on the JSON header


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
    path = Path(source)
    try:
        if path.is_dir():
            raise CheckpointError(f"{path} is a folder, not a checkpoint file")
        size = path.stat().st_size
        if size > MAX_CHECKPOINT_BYTES:
            raise CheckpointError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {MAX_CHECKPOINT_BYTES / 1e6:.0f} MB")
        return path.read_bytes(), path.name
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint file at {path}") from None
    except OSError as e:
        raise CheckpointError(f"cannot read {path}: {e.strerror or e}") from None


def _header(data: bytes, what: str) -> dict:
    if not data:
        raise CheckpointError(f"{what} is empty")
    if data[:4] == b"PK\x03\x04":
        raise CheckpointError(f"{what} is a torch.save / zip file; only safetensors checkpoints are loaded (pickles can run code)")
    if data[:1] == b"\x80":
        raise CheckpointError(f"{what} is a Python pickle; only safetensors checkpoints are loaded (pickles can run code)")
    if len(data) < 8:
        raise CheckpointError(f"{what} is too short to be a safetensors checkpoint ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or n > len(data) - 8:
        raise CheckpointError(f"{what} is not a safetensors checkpoint, or is truncated (bad header length)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CheckpointError(f"{what} is not a safetensors checkpoint (its header is not JSON), or is truncated") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{what} is not a safetensors checkpoint (its header is not a JSON object)")
    return header


def _json_field(meta: dict, key: str, what: str):
    try:
        return json.loads(meta[key])
    except KeyError:
        raise CheckpointError(f"{what} has no {key!r} in its metadata") from None
    except (TypeError, ValueError):
        raise CheckpointError(f"{what} has an unreadable {key!r} in its metadata") from None


def load(source: str | Path | bytes) -> Checkpoint:
    """Read and check a checkpoint from a path or from bytes (an upload). Never unpickles."""
    data, what = _read(source)
    header = _header(data, what)
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{what} is a safetensors file but not an mlp_lm checkpoint (no mlp_lm metadata)")
    try:
        version = int(meta.get("format_version", ""))
    except ValueError:
        raise CheckpointError(f"{what} has an unreadable format_version") from None
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{what} has format version {version}; this mlp_lm reads up to {FORMAT_VERSION}")

    cfg_dict = _json_field(meta, "model_config", what)
    if not isinstance(cfg_dict, dict) or set(cfg_dict) - set(ModelConfig.__dataclass_fields__):
        raise CheckpointError(f"{what} has a model config this version does not understand")
    try:
        model_cfg = ModelConfig(**cfg_dict)
    except ConfigError as e:
        raise CheckpointError(f"{what} has an invalid model config: {e}") from None

    itos = _json_field(meta, "vocab", what)
    if (
        not isinstance(itos, list)
        or not 2 <= len(itos) <= MAX_VOCAB
        or not all(isinstance(c, str) and len(c) == 1 for c in itos)
        or itos[0] != TERMINATOR
        or len(set(itos)) != len(itos)
    ):
        raise CheckpointError(f"{what} has an invalid vocabulary (must be distinct single characters starting with '.')")
    if len(itos) != model_cfg.vocab_size:
        raise CheckpointError(f"{what} has {len(itos)} characters in its vocabulary but its model config says {model_cfg.vocab_size}")
    train_cfg = _json_field(meta, "train_config", what) if "train_config" in meta else None
    if train_cfg is not None and not isinstance(train_cfg, dict):
        raise CheckpointError(f"{what} has a train config that is not a JSON object")
    extra = _json_field(meta, "extra", what) if "extra" in meta else None

    names = set(header) - {"__metadata__"}
    missing = [k for k in PARAM_NAMES if k not in names]
    if missing:
        raise CheckpointError(f"{what} is missing tensor(s) {', '.join(missing)}")
    unexpected = sorted(names - set(PARAM_NAMES))
    if unexpected:
        raise CheckpointError(f"{what} has unexpected tensor(s) {', '.join(unexpected[:5])}")
    for name, shape in param_shapes(model_cfg).items():
        info = header[name]
        got = tuple(info.get("shape", ())) if isinstance(info, dict) else None
        if got != shape:
            raise CheckpointError(f"{what}: {name} has shape {got} but its model config needs {shape}")
        if info.get("dtype") not in ("F32", "F16", "BF16", "F64"):
            raise CheckpointError(f"{what}: {name} has dtype {info.get('dtype')}; a floating-point tensor is required")

    try:
        tensors = safetensors.torch.load(data)
    except Exception as e:  # SafetensorError and anything the Rust parser reports
        raise CheckpointError(f"{what} is corrupt or truncated ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    params = {}
    for name in PARAM_NAMES:
        t = tensors[name].to(torch.float32).contiguous()
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{what}: {name} contains NaN or infinite values")
        params[name] = t
    return Checkpoint(params, model_cfg, Vocab(tuple(itos)), train_cfg, extra)


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
