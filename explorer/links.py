"""Share by link: the sidebar's settings and the current page as a URL query string, and back. No Streamlit here.

    query = encode(values, preset_label, page="runs")   # {"page": "runs", "preset": "fast", "hidden": "300"}
    link = parse(st.query_params.to_dict(), pages=PAGE_KEYS)
    link.preset, link.values, link.page, link.notes      # only what is valid; a note for everything ignored

Only settings that differ from the preset's values are written, so a link stays short and reads as a recipe.
Parsing never raises: a missing, unknown or out-of-range value is left out (its default stays) and named in
`notes`, one short line each, shown to the user as they are (escaped and cut to a safe length).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import settings as S

MAX_PARAMS = 40      # a link with more parameters than this is read only this far
MAX_NOTE_VALUE = 24  # characters of a bad value quoted in a note
PRESET_NAMES = {name: label for label, name in S.PRESET_LABELS.items()}  # mlp_lm preset name → sidebar label

INTS = ("block_size", "emb_dim", "hidden", "steps", "seed", "decay_step")
FLOATS = ("lr", "lr2", "weight_decay")
CHOICES = {"init": S.INIT_CHOICES, "optimizer": S.OPTIMIZER_CHOICES, "schedule": S.SCHEDULE_CHOICES}
RANGE = {**S.RANGES, "decay_step": (0, S.RANGES["steps"][1])}


@dataclass
class Link:
    preset: str | None = None                      # a sidebar preset label (settings.PRESET_LABELS)
    values: dict = field(default_factory=dict)     # widget key → typed value, only the valid ones
    page: str | None = None                        # a page key from `pages`
    notes: list[str] = field(default_factory=list)

    def note(self) -> str | None:
        """One line for the user, or None when everything in the link was used."""
        if not self.notes:
            return None
        return "Some of this link's settings were ignored (their defaults stay): " + "; ".join(self.notes) + "."


def _quote(s) -> str:
    s = str(s)
    cut = s[:MAX_NOTE_VALUE] + ("…" if len(s) > MAX_NOTE_VALUE else "")
    return repr(cut)  # repr escapes control, bidirectional and other invisible characters


def _fmt(v) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def _int(text: str, lo: int, hi: int) -> int | None:
    t = text.strip().replace("_", "")
    if not t.lstrip("+-").isdigit() or len(t) > 20:
        return None
    v = int(t)
    return v if lo <= v <= hi else None


def _float(text: str, lo: float, hi: float) -> float | None:
    try:
        v = float(text.strip()) if len(text) <= 40 else math.nan
    except ValueError:
        return None
    return v if math.isfinite(v) and lo <= v <= hi else None


def parse_value(key: str, text: str):
    """(typed value, None) or (None, why it is not usable) for one setting."""
    if key in INTS:
        lo, hi = RANGE[key]
        v = _int(text, lo, hi)
        return (v, None) if v is not None else (None, f"not a whole number from {_fmt(lo)} to {_fmt(hi)}")
    if key in FLOATS:
        lo, hi = RANGE[key]
        v = _float(text, lo, hi)
        return (v, None) if v is not None else (None, f"not a number from {_fmt(lo)} to {_fmt(hi)}")
    if key in CHOICES:
        return (text, None) if text in CHOICES[key] else (None, f"not one of {', '.join(CHOICES[key])}")
    if key == "batch_size":
        v = _int(text, 1, max(S.BATCH_SIZES))
        return (v, None) if v in S.BATCH_SIZES else (None, "not one of the batch sizes 1, 4, 8, … 4,096")
    if key == "eval_every":
        if text == "auto":
            return "auto", None
        v = _int(text, 1, max(c for c in S.EVAL_CHOICES if c != "auto"))
        return (v, None) if v in S.EVAL_CHOICES else (None, "not auto or one of the listed intervals")
    return None, "unknown"


def parse(query: dict, pages=()) -> Link:
    """A query string's parameters (name → str, or a list of str: the last one counts) → Link. Never raises."""
    link = Link()
    items = list(query.items()) if isinstance(query, dict) else []
    if len(items) > MAX_PARAMS:
        link.notes.append(f"only the first {MAX_PARAMS} of its {len(items)} parameters were read")
        items = items[:MAX_PARAMS]
    for key, raw in items:
        if isinstance(raw, (list, tuple)):
            raw = raw[-1] if raw else ""
        text = str(raw)
        if key == "embed" or key.startswith("embed_"):  # Streamlit's own (?embed=true)
            continue
        if key == "page":
            if text in pages:
                link.page = text
            else:
                link.notes.append(f"page={_quote(text)} (no such page)")
        elif key == "preset":
            label = PRESET_NAMES.get(text) or (text if text in S.PRESET_LABELS else None)
            if label is None:
                link.notes.append(f"preset={_quote(text)} (not one of {', '.join(PRESET_NAMES)})")
            link.preset = label or link.preset
        elif key in S.FIELDS:
            v, why = parse_value(key, text)
            if why is None:
                link.values[key] = v
            else:
                link.notes.append(f"{key}={_quote(text)} ({why})")
        else:
            link.notes.append(f"{_quote(key)} (not a setting)")
    return link


def _text(v) -> str:
    if isinstance(v, float):
        return repr(v) if v != int(v) or abs(v) >= 1e16 else repr(v).removesuffix(".0")
    return str(v)


def encode(values: dict, preset: str, page: str | None = None) -> dict[str, str]:
    """The query parameters for `values` (widget key → value) under the sidebar preset `preset` (its label):
    the page, the preset (by its short mlp_lm name), and every setting that differs from the preset's."""
    out: dict[str, str] = {}
    if page:
        out["page"] = page
    name = S.PRESET_LABELS.get(preset)
    base = S.default_values(preset) if name else S.default_values()
    if name and preset != S.DEFAULT_PRESET:
        out["preset"] = name
    for key in S.FIELDS:
        if key in values and values[key] != base.get(key):
            out[key] = _text(values[key])
    return out
