"""Which characters a name may hold, where a line ends, and how to print a name safely on a terminal.

One rule for every source of names — a names file, a pasted text, a checkpoint's vocabulary:
  * a line ends only at "\\n", "\\r\\n" or "\\r" (`split_lines`); every other character that some programs treat as a
    line end (U+000B, U+000C, U+001C–U+001E, U+0085, U+2028, U+2029) is refused inside a name, never split on;
  * control characters (Unicode category Cc), lone surrogates (Cs) and the bidirectional embedding / override /
    isolate controls (U+202A–U+202E, U+2066–U+2069, which reorder how text is shown) are refused;
  * everything else is allowed, including zero-width joiners (emoji such as 👩‍🎓), no-break spaces and other format
    characters inside a name — but a name must hold at least one visible character (`has_visible`).
`printable(s)` escapes what a terminal would act on or hide, for a client that prints names.
"""
from __future__ import annotations

import re
import unicodedata

LINE_END = re.compile(r"\r\n|\r|\n")
LINE_SEPARATORS = frozenset("\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")  # str.splitlines' other line boundaries
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
INVISIBLE = frozenset(("Cf", "Mn", "Me", "Zs"))  # format, combining and space characters show nothing on their own
SHAPING = frozenset("\u200c\u200d") | frozenset(map(chr, range(0xE0020, 0xE0080)))  # ZWNJ, ZWJ, emoji tags
STRIP = "".join(chr(c) for c in range(0x3001) if unicodedata.category(chr(c)) == "Zs") + "\t"  # around a name


def split_lines(text: str) -> list[str]:
    """The lines of `text`, split at "\\n", "\\r\\n" and "\\r" only (unlike str.splitlines)."""
    return LINE_END.split(text)


def char_problem(ch: str) -> str | None:
    """Why `ch` may not be part of a name ("the control character U+0007", …), or None if it may."""
    cp = f"U+{ord(ch):04X}"
    if ch in LINE_SEPARATORS:
        return f"the line separator {cp}"
    cat = unicodedata.category(ch)
    if cat == "Cc":
        return f"the control character {cp}"
    if cat == "Cs":
        return f"the lone surrogate {cp}"
    if ch in BIDI_CONTROLS:
        return f"the bidirectional control character {cp}"
    return None


def first_problem(text: str) -> str | None:
    """The first refused character of `text`, described by `char_problem`, or None."""
    for ch in text:
        problem = char_problem(ch)
        if problem is not None:
            return problem
    return None


def has_visible(name: str) -> bool:
    """True if `name` has a character that shows on its own (not only zero-width, format, combining or spaces)."""
    return any(unicodedata.category(ch) not in INVISIBLE for ch in name)


def _escape(ch: str) -> str:
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}" if o < 0x10000 else f"\\U{o:08x}"


def printable(s: str) -> str:
    """`s` with every character a terminal would act on or hide written as an escape (ESC → "\\x1b").

    Escaped: control characters, line separators, lone surrogates, and format characters (Cf: bidirectional
    controls, zero-width spaces, …) except the zero-width joiner / non-joiner and emoji tag characters, which
    shape visible text (👩‍🎓, flags). Every other name comes back unchanged.
    """
    out = []
    for ch in str(s):
        if ch not in SHAPING and (char_problem(ch) or unicodedata.category(ch) in ("Cf", "Zl", "Zp")):
            out.append(_escape(ch))
        else:
            out.append(ch)
    return "".join(out)
