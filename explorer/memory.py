"""What one browser session keeps in memory, and giving memory back to the system when a session ends.

A session's `Holder` caches the datasets it builds (one per names list × block_size: moving the context slider
builds one per position). They are bounded by bytes, not by count: at most `dataset_budget()` bytes of X and Y
tensors per session — `MLP_LM_SESSION_DATA_MB` megabytes (environment; default 400, i.e. one 500,000-name list at
the app's largest context plus room to spare), the least recently used evicted first; the dataset the current run
trains on and the one an opened run shows are never evicted (they are in use; dropping them would free nothing),
nor the one just asked for, so a session may exceed the budget by those.

`give_back()` runs a full garbage collection and asks glibc to return freed heap pages to the system
(`malloc_trim(0)`, through ctypes where it exists; a no-op elsewhere): Python and PyTorch free into malloc's
arenas, which otherwise keep the pages, so an idle server would keep the RSS of its busiest moment.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import sys
import threading
from collections import OrderedDict

ENV = "MLP_LM_SESSION_DATA_MB"
DEFAULT_DATA_MB = 400
MB = 1_000_000


def dataset_budget() -> int:
    """Bytes of cached datasets one session keeps (`MLP_LM_SESSION_DATA_MB` × 10⁶, default 400 MB)."""
    raw = os.environ.get(ENV, "").strip()
    try:
        mb = float(raw)
    except ValueError:
        mb = DEFAULT_DATA_MB
    return int((mb if mb >= 0 else DEFAULT_DATA_MB) * MB)


def dataset_bytes(ds) -> int:
    """The bytes of a dataset's tensors (X and Y of the three splits)."""
    return sum(t.element_size() * t.nelement() for t in (ds.Xtr, ds.Ytr, ds.Xdev, ds.Ydev, ds.Xte, ds.Yte))


class DatasetCache:
    """A session's datasets by key, least recently used first, kept within dataset_budget() bytes."""

    def __init__(self):
        self._items: OrderedDict = OrderedDict()

    def get(self, key, build, in_use=lambda: ()):
        """The dataset for `key`, built with `build()` if missing; then evict beyond the budget, sparing the one
        returned and those `in_use()` names (the current run's, the opened run's: dropping them frees nothing)."""
        ds = self._items.get(key)
        if ds is not None:
            self._items.move_to_end(key)
            return ds
        ds = self._items[key] = build()
        spare = {id(ds), *(id(d) for d in in_use() if d is not None)}
        total, budget = self.bytes(), dataset_budget()
        for k in list(self._items):
            if total <= budget:
                break
            if id(self._items[k]) not in spare:
                total -= dataset_bytes(self._items.pop(k))
        return ds

    def bytes(self) -> int:
        return sum(dataset_bytes(d) for d in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items))  # the keys, least recently used first

    def clear(self) -> None:
        self._items.clear()


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return lib if hasattr(lib, "malloc_trim") else None
    except OSError:
        return None


_LIBC = _libc()


M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8  # glibc's mallopt parameters (malloc.h)
MMAP_THRESHOLD = 1 << 20                # allocations of 1 MB and more get pages of their own


def tune_malloc() -> bool:
    """Once per server: blocks of 1 MB and more (datasets, parameters, snapshots) are mmapped, so freeing them returns
    their pages at once (glibc's default threshold rises with every large free, after which such blocks land in the
    heap and fragment it), and at most 4 malloc arenas (one per thread by default, each keeping its own freed pages).
    True if glibc took both settings; a no-op elsewhere."""
    if _LIBC is None or not hasattr(_LIBC, "mallopt"):
        return False
    try:
        return bool(_LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(_LIBC.mallopt(M_ARENA_MAX, 4))
    except (OSError, AttributeError):
        return False


def give_back() -> bool:
    """Collect garbage and return freed heap pages to the system; True if malloc_trim ran."""
    gc.collect()
    if _LIBC is None:
        return False
    try:
        _LIBC.malloc_trim(0)
    except (OSError, AttributeError):
        return False
    return True


def give_back_soon() -> None:
    """give_back() in a thread of its own: a session's on_release runs on the server's event loop, which must stay
    responsive (a full collection of a large heap takes a while)."""
    threading.Thread(target=give_back, name="mlp_lm-give-back", daemon=True).start()
