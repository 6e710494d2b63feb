"""Names → vocabulary → (X, Y) context windows → the lecture's 80/10/10 split.

Follows makemore part 2: `.` (index 0) pads the start of every name and marks its end; `stoi`/`itos` map characters
to indices; `build_dataset` crops a window of `block_size` characters and appends each target, vectorised.
Which characters a name may hold is one rule shared with checkpoints (`mlp_lm.chars`). A dataset's memory is
estimated before it is built (`dataset_bytes`) and refused beyond `MAX_DATASET_BYTES`.
Every bad input raises `DataError` with one clear line (see LIMITS below and docs/limits.md).
"""
from __future__ import annotations

import codecs
import random
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .chars import STRIP, char_problem, has_visible, printable, split_lines  # noqa: F401  (printable: for clients)
from .errors import DataError
from .files import read_limited

if TYPE_CHECKING:
    import torch

TERMINATOR = "."           # index 0: start padding and end-of-name marker, as in the lecture
MAX_FILE_BYTES = 20_000_000  # a names file larger than this is refused (names.txt is 0.23 MB)
MAX_WORDS = 500_000        # at most this many names (names.txt has 32,469)
MAX_WORD_LEN = 64          # characters in one name; longer lines are almost certainly not names
MAX_VOCAB = 256            # distinct characters including '.'; more makes a vocabulary too large to learn
MAX_DATASET_BYTES = 1_000_000_000  # X and Y of all three splits; names.txt at block_size 3 takes 4.6 MB
X_DTYPE = np.dtype(np.int32)  # contexts: indices < 256; torch indexes with int32, the fast kernel reads int32 as is
Y_DTYPE = np.dtype(np.int64)  # targets: F.cross_entropy wants int64
DEFAULT_DATA = Path(__file__).resolve().parent.parent / "data" / "names.txt"


def decode_bytes(raw: bytes) -> str:
    """Bytes of a text file → str. UTF-8 (with or without BOM) and UTF-16 with a BOM are read; anything else is refused."""
    if len(raw) > MAX_FILE_BYTES:
        raise DataError(f"the file is {len(raw):,} bytes; the limit is {MAX_FILE_BYTES:,} bytes")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError("the file starts like UTF-16 text but is not valid UTF-16") from None
    if b"\x00" in raw:
        raise DataError("this looks like a binary file, not text with one name per line")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(
            f"the file is not UTF-8 text (byte 0x{raw[e.start]:02x} on line {line}); save it as UTF-8"
        ) from None


def parse_words(text: str) -> list[str]:
    """One name per line → list of names: surrounding spaces and tabs stripped, empty lines dropped, case kept.

    Lines end at "\\n", "\\r\\n" or "\\r" only; a name with a refused character (`mlp_lm.chars.char_problem`: control
    characters, other line separators, lone surrogates, bidirectional controls) or with nothing visible is refused.
    """
    words = []
    for lineno, line in enumerate(split_lines(text), 1):
        w = line.strip(STRIP)
        if not w:
            continue
        if len(w) > MAX_WORD_LEN:
            raise DataError(f"line {lineno} is {len(w):,} characters long; a name may have at most {MAX_WORD_LEN}")
        if TERMINATOR in w:
            raise DataError(
                f"line {lineno} ({w[:20]!r}) contains '{TERMINATOR}', which the model reserves to mark the start and end of a name"
            )
        problem = next((p for p in map(char_problem, w) if p is not None), None)
        if problem is not None:
            raise DataError(f"line {lineno} ({w[:20]!r}) contains {problem}")
        if not has_visible(w):
            raise DataError(
                f"line {lineno} ({w[:20]!r}) has no visible character (only zero-width, format, combining or space characters)"
            )
        words.append(w)
        if len(words) > MAX_WORDS:
            raise DataError(f"the file has more than {MAX_WORDS:,} names, the limit")
    if not words:
        raise DataError("no names found: the file is empty or has only blank lines")
    Vocab.from_words(words)  # refuse a vocabulary too large to learn now, not at training time
    return words


def load_words(source: str | Path | bytes) -> list[str]:
    """Read names from a path, raw bytes (an upload) or a str of text (one name per line).

    A path must be a regular file (a FIFO, a device such as /dev/zero or a socket is refused at once) and at most
    `MAX_FILE_BYTES` are ever read from it.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return parse_words(decode_bytes(bytes(source)))
    if isinstance(source, Path):
        return parse_words(decode_bytes(read_limited(source, MAX_FILE_BYTES, DataError, "names file")))
    return parse_words(source)


@dataclass(frozen=True)
class Vocab:
    """The character vocabulary: `itos[0] == '.'`, the rest sorted, `stoi` its inverse."""

    itos: tuple[str, ...]

    @classmethod
    def from_words(cls, words: list[str]) -> "Vocab":
        chars = sorted(set("".join(words)))
        if TERMINATOR in chars:
            raise DataError(f"a name contains '{TERMINATOR}', which the model reserves to mark the start and end of a name")
        problem = next((p for p in map(char_problem, chars) if p is not None), None)
        if problem is not None:
            raise DataError(f"a name contains {problem}")
        if len(chars) + 1 > MAX_VOCAB:
            raise DataError(
                f"the names use {len(chars):,} distinct characters; at most {MAX_VOCAB - 1} are supported"
            )
        return cls((TERMINATOR, *chars))

    @property
    def stoi(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, word: str) -> list[int]:
        stoi = self.stoi
        missing = sorted({ch for ch in word if ch not in stoi})
        if missing:
            raise DataError(f"{word!r} uses characters not in the vocabulary: {''.join(missing)!r}")
        return [stoi[ch] for ch in word]

    def decode(self, ix) -> str:
        return "".join(self.itos[int(i)] for i in ix)


def _check_block_size(block_size) -> None:
    if not isinstance(block_size, int) or isinstance(block_size, bool) or block_size < 1:
        raise DataError(f"block_size must be at least 1, got {block_size!r}")


def dataset_bytes(words, block_size: int) -> int:
    """Bytes that X and Y of `words` take: one example per character + 1, each block_size X entries and one Y."""
    _check_block_size(block_size)
    examples = sum(map(len, words)) + len(words)
    return examples * (block_size * X_DTYPE.itemsize + Y_DTYPE.itemsize)


def _size(n: int) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


def check_dataset_size(words, block_size: int) -> int:
    """Raise DataError if X and Y of `words` would take more than MAX_DATASET_BYTES; returns their bytes.

    Call it before building a dataset (as `make_dataset` and `build_dataset` do) to refuse one that does not fit.
    """
    need = dataset_bytes(words, block_size)
    if need > MAX_DATASET_BYTES:
        examples = sum(map(len, words)) + len(words)
        raise DataError(
            f"the dataset would take {_size(need)} of memory ({examples:,} examples × block_size {block_size}); "
            f"the limit is {_size(MAX_DATASET_BYTES)}: use fewer or shorter names or a smaller block_size"
        )
    return need


def build_dataset(words: list[str], block_size: int, vocab: Vocab | None = None):
    """The lecture's loop, vectorised: for each name, every window of `block_size` previous characters → the next.

    Returns X (N, block_size) int32 and Y (N,) int64, row for row equal to
        context = [0] * block_size
        for ch in w + '.': X.append(context); Y.append(stoi[ch]); context = context[1:] + [stoi[ch]]
    (int32 halves the memory of X; torch indexes C with it exactly as with int64.)
    """
    import torch  # here, not at the top: reading and checking names needs no torch (the app's first page, --help)

    _check_block_size(block_size)
    vocab = vocab or Vocab.from_words(words)
    if not words:
        return torch.from_numpy(np.zeros((0, block_size), X_DTYPE)), torch.from_numpy(np.zeros(0, Y_DTYPE))
    check_dataset_size(words, block_size)
    # Look every character up once: code points → vocabulary indices through a sorted table.
    table_cp = np.array([ord(c) for c in vocab.itos[1:]], dtype=np.uint32)
    order = np.argsort(table_cp)
    joined = "".join(words)
    try:
        cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:
        raise DataError("a name contains a lone surrogate") from None
    pos = np.searchsorted(table_cp[order], cps)
    if len(cps) and (pos.max() >= len(order) or np.any(table_cp[order][np.minimum(pos, len(order) - 1)] != cps)):
        raise DataError("a name uses characters not in the vocabulary")
    codes = (order[pos] + 1).astype(np.uint8)  # indices < MAX_VOCAB = 256
    # Lay the names out as [0]*block_size + name + [0] each, in one flat array S: name k starts at
    # (characters before it) + k * (block_size + 1), its characters block_size later.
    nw, lens = len(words), np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    S = np.zeros(len(cps) + nw * (block_size + 1), dtype=np.uint8)
    S[np.arange(len(cps)) + np.repeat(np.arange(nw) * (block_size + 1), lens) + block_size] = codes
    # Example i of name k (i = 0..len) starts at S[(examples before it) + k * block_size].
    starts = np.arange(int(lens.sum()) + nw) + np.repeat(np.arange(nw) * block_size, lens + 1)
    windows = np.lib.stride_tricks.sliding_window_view(S, block_size)  # a view: row i is S[i : i + block_size]
    X = np.take(windows, starts, axis=0).astype(X_DTYPE)  # gathered as uint8 (1 byte per entry), no (N, block_size) index array
    Y = S[starts + block_size].astype(Y_DTYPE)
    return torch.from_numpy(X), torch.from_numpy(Y)


def split_words(words: list[str], seed: int = 42) -> tuple[list[str], list[str], list[str]]:
    """The lecture's split: random.seed(42); random.shuffle(words); 80% / 10% / 10% of the names."""
    words = list(words)
    random.Random(seed).shuffle(words)  # same sequence as random.seed(seed); random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    parts = words[:n1], words[n1:n2], words[n2:]
    if not all(parts):
        raise DataError(
            f"only {len(words)} name(s): a train/dev/test split needs at least 6 so that each part gets one"
        )
    return parts


@dataclass(frozen=True)
class Dataset:
    """Everything a run needs from the data: the names, the vocabulary and the three splits as (X, Y)."""

    words: tuple[str, ...]
    vocab: Vocab
    block_size: int
    train_words: tuple[str, ...]
    dev_words: tuple[str, ...]
    test_words: tuple[str, ...]
    Xtr: torch.Tensor
    Ytr: torch.Tensor
    Xdev: torch.Tensor
    Ydev: torch.Tensor
    Xte: torch.Tensor
    Yte: torch.Tensor

    @cached_property
    def split_sets(self) -> tuple[frozenset[str], frozenset[str]]:
        """(the training names, the dev and test names) as sets: made once per dataset, not for every label."""
        return frozenset(self.train_words), frozenset(self.dev_words) | frozenset(self.test_words)

    @property
    def split_sizes(self) -> tuple[int, int, int]:
        return len(self.Ytr), len(self.Ydev), len(self.Yte)

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return {"train": (self.Xtr, self.Ytr), "dev": (self.Xdev, self.Ydev), "test": (self.Xte, self.Yte)}[name]


def make_dataset(words: list[str], block_size: int, seed: int = 42) -> Dataset:
    """Vocabulary from all names, the lecture's split, and X/Y for each part (refused beyond MAX_DATASET_BYTES)."""
    vocab = Vocab.from_words(words)
    check_dataset_size(words, block_size)
    tr, dev, te = split_words(words, seed)
    Xtr, Ytr = build_dataset(tr, block_size, vocab)
    Xdev, Ydev = build_dataset(dev, block_size, vocab)
    Xte, Yte = build_dataset(te, block_size, vocab)
    return Dataset(tuple(words), vocab, block_size, tuple(tr), tuple(dev), tuple(te), Xtr, Ytr, Xdev, Ydev, Xte, Yte)


def load_dataset(source: str | Path | bytes | None = None, block_size: int = 3, seed: int = 42) -> Dataset:
    """`make_dataset(load_words(source))`; None means the default data/names.txt."""
    return make_dataset(load_words(DEFAULT_DATA if source is None else source), block_size, seed)
