"""The JSON header of a safetensors file, read without trusting it.

A safetensors file is an 8-byte little-endian header length n, n bytes of a JSON object (tensor name → dtype, shape,
data_offsets; "__metadata__" → text), then the raw tensor bytes. `parse_header` reads a file as safetensors *first*
and only tells a pickle or a zip apart once that failed (a valid header length such as 1152 = 0x480 starts with the
byte 0x80, a pickle's first opcode). JSON objects with a key twice are refused (the decoder would keep the last
one), and `check_tensors` checks every field of every tensor entry by type and range before anything uses it.
"""
from __future__ import annotations

import json
import math
import struct

from .chars import printable
from .errors import CheckpointError
from .model import PARAM_NAMES, ModelConfig, param_shapes

MAX_HEADER_BYTES = 100_000_000      # safetensors' own limit on the JSON header
ITEMSIZE = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8}  # the floating-point dtypes a tensor may be stored in


class Duplicate(Exception):
    """A JSON object with the same key twice."""

    def __init__(self, key):
        self.key = key


def _no_duplicates(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise Duplicate(k)
        seen[k] = v
    return seen


def loads_strict(text: str):
    """json.loads refusing duplicate keys (the last one would silently win); Duplicate / RecursionError escape."""
    return json.loads(text, object_pairs_hook=_no_duplicates)


def kind(v) -> str:
    """A JSON value's type in words, for messages (never the value itself, which may be huge)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true/false"
    return {dict: "an object", list: "a list", str: "text", int: "a number", float: "a number"}.get(type(v), type(v).__name__)


def _safetensors_header(data: bytes, what: str) -> dict | None:
    """The parsed JSON header if `data` is laid out as safetensors (length, then a JSON object), else None."""
    if len(data) < 8:
        return None
    (n,) = struct.unpack("<Q", data[:8])
    if n < 2 or n > MAX_HEADER_BYTES or n > len(data) - 8 or data[8:9] != b"{":
        return None
    try:
        header = loads_strict(data[8 : 8 + n].decode("utf-8"))
    except Duplicate as e:
        raise CheckpointError(f"{what} has a header with the key {printable(e.key)[:40]!r} twice") from None
    except RecursionError:
        raise CheckpointError(f"{what} has a header nested too deeply to read") from None
    except (UnicodeDecodeError, ValueError):
        return None
    return header if isinstance(header, dict) else None


def parse_header(data: bytes, what: str) -> dict:
    """Parse as safetensors first; only a file that is not valid safetensors is then told apart (pickle, zip, …)."""
    if not data:
        raise CheckpointError(f"{what} is empty")
    header = _safetensors_header(data, what)
    if header is not None:
        return header
    if data[:4] == b"PK\x03\x04":
        raise CheckpointError(f"{what} is a torch.save / zip file; only safetensors checkpoints are loaded (pickles can run code)")
    if data[:1] == b"\x80":  # a pickle's PROTO opcode
        raise CheckpointError(f"{what} is a Python pickle; only safetensors checkpoints are loaded (pickles can run code)")
    if len(data) < 8:
        raise CheckpointError(f"{what} is too short to be a safetensors checkpoint ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or n > len(data) - 8:
        raise CheckpointError(f"{what} is not a safetensors checkpoint, or is truncated (bad header length)")
    raise CheckpointError(f"{what} is not a safetensors checkpoint (its header is not a JSON object), or is truncated")


def check_tensors(header: dict, what: str, model_cfg: ModelConfig) -> None:
    names = set(header) - {"__metadata__"}
    missing = [k for k in PARAM_NAMES if k not in names]
    if missing:
        raise CheckpointError(f"{what} is missing tensor(s) {', '.join(missing)}")
    unexpected = sorted(names - set(PARAM_NAMES))
    if unexpected:
        raise CheckpointError(f"{what} has unexpected tensor(s) {', '.join(printable(u)[:40] for u in unexpected[:5])}")
    for name, shape in param_shapes(model_cfg).items():
        info = header[name]
        if not isinstance(info, dict):
            raise CheckpointError(f"{what}: the header entry of {name} is {kind(info)}, not an object")
        got = info.get("shape")
        if not isinstance(got, list) or not all(type(d) is int for d in got):
            raise CheckpointError(f"{what}: {name} has a shape that is {kind(got)}, not a list of whole numbers")
        if tuple(got) != shape:
            raise CheckpointError(f"{what}: {name} has shape {tuple(got) if len(got) <= 8 else got[:8]} but its model config needs {shape}")
        dtype = info.get("dtype")
        if not isinstance(dtype, str):
            raise CheckpointError(f"{what}: {name} has a dtype that is {kind(dtype)}, not text")
        if dtype not in ITEMSIZE:
            raise CheckpointError(f"{what}: {name} has dtype {printable(dtype)[:20]}; a floating-point tensor is required")
        offsets = info.get("data_offsets")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int and o >= 0 for o in offsets)
                or offsets[1] - offsets[0] != math.prod(shape) * ITEMSIZE[dtype]):
            raise CheckpointError(f"{what}: {name} has data_offsets that do not match its shape and dtype")
