"""The embedding timeline: copies of C through a run, in bounded memory, and a PCA that keeps one orientation.

    tl = EmbeddingTimeline(capacity=160)
    tl.add(step, C)                  # cheap to call after every chunk: a copy is kept only when one is due
    steps, tables = tl.frames()      # (n,) steps and (n, V, E) copies of C, the latest always included
    xy = project(tables)             # (n, V, 2): every frame in the PCA basis of the latest table
    data = tl.to_bytes(); EmbeddingTimeline.from_bytes(data)    # safetensors (timeline.safetensors in a run folder)

The run is cut into cells of `stride` steps and the first table offered in each cell is kept; when `capacity`
frames are stored the stride doubles (as history.py thins the loss) and only the first frame of each wider cell
stays, so a run of any length keeps between capacity/2 and capacity frames, evenly spread over it (to within a
chunk of steps), in one preallocated (capacity, V, E) float32 buffer. The latest table is kept apart, so the final
C is always the last frame.

`project` fits PCA once, on the latest table (centred on its mean), and puts every frame in that basis: the points
move, the axes do not flip. Each axis is signed so that its largest loading is positive, and when a previous basis
is given (as a live page refreshes) it is signed to agree with that one instead.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from .errors import CheckpointError

FORMAT = "mlp_lm.timeline/1"


class EmbeddingTimeline:
    def __init__(self, capacity: int = 160):
        if not isinstance(capacity, int) or capacity < 4:
            raise ValueError(f"capacity must be a whole number ≥ 4, got {capacity!r}")
        self.capacity = capacity - capacity % 2
        self.stride = 1          # steps between kept frames
        self.n = 0               # frames stored
        self.steps = np.zeros(self.capacity, dtype=np.int64)
        self.tables: np.ndarray | None = None   # (capacity, V, E) once the first frame arrives
        self._last_step = -1
        self._last: np.ndarray | None = None    # the latest table, whether or not it was due
        self._cache: tuple[np.ndarray, np.ndarray] | None = None  # frames() until the next add()

    def add(self, step: int, C) -> bool:
        """Offer the table C at `step` (steps must not go back); returns True if it was kept as a frame."""
        step = int(step)
        if step < self._last_step:
            raise ValueError(f"steps must not go back: {step} after {self._last_step}")
        C = np.asarray(C.detach().cpu() if isinstance(C, torch.Tensor) else C, dtype=np.float32)
        if self.tables is None:
            self.tables = np.zeros((self.capacity, *C.shape), dtype=np.float32)
        elif C.shape != self.tables.shape[1:]:
            raise ValueError(f"C has shape {C.shape}, the timeline holds {self.tables.shape[1:]}")
        if self._last is None:
            self._last = np.empty_like(C)
        self._cache = None
        self._last[...] = C
        self._last_step = step
        if self.n and step // self.stride == self.steps[self.n - 1] // self.stride:
            return False  # this cell of `stride` steps has its frame already
        if self.n == self.capacity:
            self._thin()
            if step // self.stride == self.steps[self.n - 1] // self.stride:
                return False
        self.steps[self.n] = step
        self.tables[self.n] = C
        self.n += 1
        return True

    def _thin(self) -> None:
        """Double the stride until at most half the buffer is used, keeping the first frame of every new cell."""
        while self.n > self.capacity // 2:
            self.stride *= 2
            cells = self.steps[: self.n] // self.stride
            keep = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
            self.steps[: len(keep)] = self.steps[keep]
            self.tables[: len(keep)] = self.tables[keep]
            self.n = len(keep)

    def __len__(self) -> int:
        return len(self.frames()[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the frame buffers (fixed once the first frame arrived)."""
        return (self.steps.nbytes + (self.tables.nbytes if self.tables is not None else 0)
                + (self._last.nbytes if self._last is not None else 0))

    def frames(self) -> tuple[np.ndarray, np.ndarray]:
        """Read-only copies: steps (n,) and tables (n, V, E), oldest first, ending with the latest table.

        The same two arrays are returned until the next add(), so a trainer can put them in every snapshot cheaply.
        """
        if self.tables is None:
            return np.zeros(0, np.int64), np.zeros((0, 0, 0), np.float32)
        if self._cache is not None:
            return self._cache
        steps, tables = self.steps[: self.n], self.tables[: self.n]
        if self.n == 0 or self._last_step > steps[-1]:
            steps = np.append(steps, self._last_step)
            tables = np.concatenate([tables, self._last[None]])
        steps, tables = steps.copy(), tables.copy()
        steps.flags.writeable = tables.flags.writeable = False
        self._cache = (steps, tables)
        return self._cache

    def to_bytes(self) -> bytes:
        """The frames as safetensors bytes (tensors "steps" and "C", the format name in the metadata)."""
        steps, tables = self.frames()
        meta = {"format": FORMAT, "capacity": str(self.capacity), "stride": str(self.stride)}
        return st_save({"steps": np.ascontiguousarray(steps), "C": np.ascontiguousarray(tables)}, metadata=meta)

    @classmethod
    def from_bytes(cls, data: bytes) -> "EmbeddingTimeline":
        """A timeline from to_bytes' output; anything else raises CheckpointError with one line."""
        try:
            data = bytes(data)
            arrs = st_load(data)
            meta = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")]).get("__metadata__") or {}
            capacity, stride = int(meta.get("capacity", 160)), int(meta.get("stride", 1))
        except Exception as e:  # safetensors raises its own error types for malformed input
            raise CheckpointError(f"not a timeline file (safetensors could not read it: {e})") from None
        steps, tables = arrs.get("steps"), arrs.get("C")
        if meta.get("format") != FORMAT or steps is None or tables is None or tables.ndim != 3 or steps.ndim != 1 \
                or steps.shape != (len(tables),) or np.any(np.diff(steps) < 0) or not np.isfinite(tables).all():
            raise CheckpointError("not a timeline file: expected steps (n,) in order and finite C (n, V, E)")
        tl = cls(min(max(capacity, len(steps) + len(steps) % 2, 4), 100_000))
        tl.stride = max(stride, 1)
        for s, C in zip(steps, tables):
            tl.steps[tl.n] = s
            if tl.tables is None:
                tl.tables = np.zeros((tl.capacity, *C.shape), np.float32)
            tl.tables[tl.n] = C
            tl.n += 1
        if len(steps):
            tl._last, tl._last_step = tables[-1].astype(np.float32).copy(), int(steps[-1])
        return tl


@dataclass(frozen=True)
class Basis:
    mean: np.ndarray        # (E,) the centre of the table it was fitted on
    components: np.ndarray  # (2, E) the first two principal directions, rows of unit length
    explained: np.ndarray   # (2,) share of that table's variance along each


def fit_basis(C, previous: Basis | None = None) -> Basis:
    """PCA of the rows of C (V, E): the top two directions, signed as the module docstring says."""
    C = np.asarray(C, dtype=np.float64)
    mean = C.mean(0)
    _, s, vt = np.linalg.svd(C - mean, full_matrices=False)
    comps = np.zeros((2, C.shape[1]))
    k = min(2, len(vt))
    comps[:k] = vt[:k]
    for i in range(k):
        ref = previous.components[i] if previous is not None and previous.components.shape == comps.shape else None
        sign = np.sign(comps[i] @ ref) if ref is not None else np.sign(comps[i][np.argmax(np.abs(comps[i]))])
        comps[i] *= sign or 1.0
    var = s**2
    explained = np.zeros(2)
    explained[:k] = var[:k] / var.sum() if var.sum() > 0 else 0.0
    return Basis(mean, comps, explained)


def project(tables, basis: Basis | None = None, previous: Basis | None = None) -> tuple[np.ndarray, Basis]:
    """Every frame (n, V, E) in one basis (fitted on the last frame unless given): returns ((n, V, 2), basis)."""
    tables = np.asarray(tables, dtype=np.float64)
    if tables.ndim != 3 or not len(tables):
        raise ValueError(f"tables must be (n, V, E) with n ≥ 1, got shape {tables.shape}")
    basis = basis or fit_basis(tables[-1], previous)
    return (tables - basis.mean) @ basis.components.T, basis
