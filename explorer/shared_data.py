"""What every session can share: the default names list, read once per server; the datasets built from a names
list, found by (the names' content fingerprint, block_size) while some session still holds them; and each names
list's bigram baseline (a float, the last 16 kept).

Names and datasets are immutable (frozen dataclasses of tuples, and tensors nothing writes to), so thirty tabs on the default data
hold one copy, and a new tab's first page reuses what an earlier one built instead of reading and splitting the file
again (~0.35 s of the server's CPU, holding the GIL, per session). The server's start-up (explorer/server_start.py)
makes the default ones before any session asks (`warm`). A dataset is kept here only while a session's cache holds it
(weak references), except the one `warm` made, so sharing never keeps memory a session has let go.
Plain Python, no Streamlit: any thread may call it; one lock makes each thing be built once.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from functools import cached_property

from mlp_lm.bigram import bigram_dev_loss
from mlp_lm.data import DEFAULT_DATA, Dataset, Vocab, load_words, make_dataset
from mlp_lm.errors import MLPLMError
from mlp_lm.runs import DataInfo, fingerprint


@dataclass(frozen=True)
class Names:
    """A list of names in use, with a short display name and a content fingerprint (cache key across sessions)."""

    words: tuple[str, ...]
    name: str
    fingerprint: str = field(default="")
    default: bool = False  # the default data/names.txt

    @classmethod
    def make(cls, words, name: str, default: bool = False) -> "Names":
        words = tuple(words)
        return cls(words, name, fingerprint(words), default)

    @cached_property
    def vocab(self) -> Vocab:
        """The vocabulary a run on these names has (made once; no dataset needed)."""
        return Vocab.from_words(list(self.words))

    def info(self) -> DataInfo:
        """What the run store records about this data."""
        return DataInfo(self.name, self.fingerprint, len(self.words), self.default)


_lock = threading.RLock()
_default: tuple[tuple, Names] | None = None  # ((the file's path, mtime, size), its Names)
_datasets: "weakref.WeakValueDictionary[tuple[str, int], Dataset]" = weakref.WeakValueDictionary()
_warm: Dataset | None = None  # the default dataset the start-up made, kept for the first session to find
_bigram: dict[str, float | None] = {}  # names fingerprint → the counting bigram's dev loss (a few floats)
MAX_BIGRAMS = 16


def default_names() -> Names:
    """data/names.txt as Names, read once per server (again only if the file changes on disk)."""
    global _default
    try:
        st = DEFAULT_DATA.stat()
        stamp = (str(DEFAULT_DATA), st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = None  # load_words says what is wrong
    with _lock:
        if _default is None or _default[0] != stamp or stamp is None:
            _default = (stamp, Names.make(load_words(DEFAULT_DATA), f"{DEFAULT_DATA.name} (default)", default=True))
        return _default[1]


def dataset(names: Names, block_size: int) -> Dataset:
    """The lecture's split of `names` for `block_size`: the one a session already holds, else built now (raises the
    core's MLPLMError, e.g. a dataset beyond its memory limit, and then caches nothing)."""
    key = (names.fingerprint, int(block_size))
    with _lock:
        ds = _datasets.get(key)
        if ds is None:
            ds = make_dataset(list(names.words), int(block_size))
            _datasets[key] = ds
        return ds


def bigram_loss(names_fingerprint: str, ds: Dataset) -> float | None:
    """The counting bigram's dev loss on `ds` (the loss chart's baseline), once per names list: the split depends on
    nothing else. None if it cannot be computed."""
    with _lock:
        if names_fingerprint not in _bigram:
            try:
                loss = float(bigram_dev_loss(ds))
            except MLPLMError:
                loss = None
            if len(_bigram) >= MAX_BIGRAMS:
                _bigram.pop(next(iter(_bigram)))
            _bigram[names_fingerprint] = loss
        return _bigram[names_fingerprint]


def warm(block_size: int) -> Dataset:
    """Read the default names, build their dataset for `block_size` (the default preset's) and keep it, and compute
    its bigram baseline: what a session's first page and first Start would otherwise compute."""
    global _warm
    names = default_names()
    ds = dataset(names, block_size)
    bigram_loss(names.fingerprint, ds)
    _warm = ds
    return ds
