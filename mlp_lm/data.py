"""Names → vocabulary → (X, Y) context windows → the lecture's 80/10/10 split.

Follows makemore part 2: `.` (index 0) pads the start of every name and marks its end; `stoi`/`itos` map characters
to indices; `build_dataset` crops a window of `block_size` characters and appends each target, vectorised.
Every bad input raises `DataError` with one clear line (see LIMITS below and docs/limits.md).
"""
from __future__ import annotations

import codecs
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import DataError

TERMINATOR = "."           # index 0: start padding and end-of-name marker, as in the lecture
MAX_FILE_BYTES = 20_000_000  # a names file larger than this is refused (names.txt is 0.23 MB)
MAX_WORDS = 500_000        # at most this many names (names.txt has 32,469)
MAX_WORD_LEN = 64          # characters in one name; longer lines are almost certainly not names
MAX_VOCAB = 256            # distinct characters including '.'; more makes a vocabulary too large to learn
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
    """One name per line → list of names: surrounding whitespace stripped, empty lines dropped, case kept."""
    words = []
    for lineno, line in enumerate(text.splitlines(), 1):
        w = line.strip()
        if not w:
            continue
        if len(w) > MAX_WORD_LEN:
            raise DataError(f"line {lineno} is {len(w):,} characters long; a name may have at most {MAX_WORD_LEN}")
        if TERMINATOR in w:
            raise DataError(
                f"line {lineno} ({w[:20]!r}) contains '{TERMINATOR}', which the model reserves to mark the start and end of a name"
            )
        bad = next((ch for ch in w if unicodedata.category(ch) == "Cc"), None)
        if bad is not None:
            raise DataError(f"line {lineno} ({w[:20]!r}) contains the control character U+{ord(bad):04X}")
        words.append(w)
        if len(words) > MAX_WORDS:
            raise DataError(f"the file has more than {MAX_WORDS:,} names, the limit")
    if not words:
        raise DataError("no names found: the file is empty or has only blank lines")
    Vocab.from_words(words)  # refuse a vocabulary too large to learn now, not at training time
    return words


def load_words(source: str | Path | bytes) -> list[str]:
    """Read names from a path, raw bytes (an upload) or a str of text (one name per line)."""
    if isinstance(source, bytes):
        return parse_words(decode_bytes(source))
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
            if size > MAX_FILE_BYTES:
                raise DataError(f"{source.name} is {size:,} bytes; the limit is {MAX_FILE_BYTES:,} bytes")
            raw = source.read_bytes()
        except OSError as e:
            raise DataError(f"cannot read {source}: {e.strerror or e}") from None
        return parse_words(decode_bytes(raw))
    return parse_words(source)


@dataclass(frozen=True)
class Vocab:
    """The character vocabulary: `itos[0] == '.'`, the rest sorted, `stoi` its inverse."""

    itos: tuple[str, ...]

    @classmethod
    def from_words(cls, words: list[str]) -> "Vocab":
        chars = sorted(set("".join(words)))
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


def build_dataset(words: list[str], block_size: int, vocab: Vocab | None = None):
    """The lecture's loop, vectorised: for each name, every window of `block_size` previous characters → the next.

    Returns X (N, block_size) int64 and Y (N,) int64, row for row equal to
        context = [0] * block_size
        for ch in w + '.': X.append(context); Y.append(stoi[ch]); context = context[1:] + [stoi[ch]]
    """
    if block_size < 1:
        raise DataError(f"block_size must be at least 1, got {block_size}")
    vocab = vocab or Vocab.from_words(words)
    if not words:
        return torch.zeros((0, block_size), dtype=torch.int64), torch.zeros(0, dtype=torch.int64)
    # Look every character up once: code points → vocabulary indices through a sorted table.
    table_cp = np.array([ord(c) for c in vocab.itos[1:]], dtype=np.int64)
    order = np.argsort(table_cp)
    joined = "".join(words)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    pos = np.searchsorted(table_cp[order], cps)
    if len(cps) and (pos.max() >= len(order) or np.any(table_cp[order][np.minimum(pos, len(order) - 1)] != cps)):
        raise DataError("a name uses characters not in the vocabulary")
    codes = order[pos] + 1
    # Lay the names out as [0]*block_size + name + [0] each, in one flat array S.
    lens = np.array([len(w) for w in words], dtype=np.int64)
    seg = lens + block_size + 1
    seg_start = np.concatenate([[0], np.cumsum(seg)[:-1]])
    S = np.zeros(int(seg.sum()), dtype=np.int64)
    char_seg = np.repeat(np.arange(len(words)), lens)
    char_off = np.arange(len(cps)) - np.repeat(np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    S[seg_start[char_seg] + block_size + char_off] = codes
    # Example i of a name starts at its segment start + i, for i in 0..len(name).
    ex_seg = np.repeat(np.arange(len(words)), lens + 1)
    ex_off = np.arange(int((lens + 1).sum())) - np.repeat(np.concatenate([[0], np.cumsum(lens + 1)[:-1]]), lens + 1)
    starts = seg_start[ex_seg] + ex_off
    X = S[starts[:, None] + np.arange(block_size)]
    Y = S[starts + block_size]
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

    @property
    def split_sizes(self) -> tuple[int, int, int]:
        return len(self.Ytr), len(self.Ydev), len(self.Yte)

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return {"train": (self.Xtr, self.Ytr), "dev": (self.Xdev, self.Ydev), "test": (self.Xte, self.Yte)}[name]


def make_dataset(words: list[str], block_size: int, seed: int = 42) -> Dataset:
    """Vocabulary from all names, the lecture's split, and X/Y for each part."""
    vocab = Vocab.from_words(words)
    tr, dev, te = split_words(words, seed)
    Xtr, Ytr = build_dataset(tr, block_size, vocab)
    Xdev, Ydev = build_dataset(dev, block_size, vocab)
    Xte, Yte = build_dataset(te, block_size, vocab)
    return Dataset(tuple(words), vocab, block_size, tuple(tr), tuple(dev), tuple(te), Xtr, Ytr, Xdev, Ydev, Xte, Yte)


def load_dataset(source: str | Path | bytes | None = None, block_size: int = 3, seed: int = 42) -> Dataset:
    """`make_dataset(load_words(source))`; None means the default data/names.txt."""
    return make_dataset(load_words(DEFAULT_DATA if source is None else source), block_size, seed)
