"""Atomic file writes: a temporary file in the same folder, flushed, then `os.replace`d over the real name.

A reader (another process, the app after a restart) sees either the old file or the new one, never half of one;
a crash mid-write leaves at most a `.name.*.tmp` file, which nothing reads.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

_UMASK = os.umask(0o022)  # read the process's umask (and put it back): new files get the usual permissions
os.umask(_UMASK)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the path. Raises OSError like open() would."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; a run's files are as readable as any other
        with os.fdopen(fd, "wb") as f:
            f.write(data)  # no fsync: this guards against a killed process, not a power cut (and stays cheap)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj) -> Path:
    """JSON with NaN/inf written as null (so every JSON reader accepts the file)."""
    return write_text(path, json.dumps(_finite(obj), indent=1, ensure_ascii=False) + "\n")


def _finite(obj):
    if isinstance(obj, float):
        return obj if obj == obj and obj not in (float("inf"), float("-inf")) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
