"""Issue 12, the core, part 2: crafted model files and names a hostile user would try.

Each test fails without its fix: crafted headers and metadata (3, 8), huge finite weights (4), control characters in
a vocabulary and printing names (5), tiny temperature / top-p (12), line separators and invisible names (13).
"""

import json
import re
import struct
import unicodedata

import numpy as np
import pytest
import torch

from mlp_lm import chars, checkpoint as ck, data
from mlp_lm.data import Vocab, load_words
from mlp_lm.errors import CheckpointError, DataError
from mlp_lm.model import forward
from mlp_lm.sampler import distribution, next_step, sample, score

from hostile_helpers import tiny_model, header_length


# ===================================================== items 3 and 8: crafted headers and metadata, one line each

def good_parts():
    raw = ck.to_bytes(*tiny_model())
    n = header_length(raw)
    return json.loads(raw[8 : 8 + n]), raw[8 + n :]


def craft(header, body: bytes | None = None) -> bytes:
    """A file with this header (a dict, or JSON text as is) and the good checkpoint's tensor bytes."""
    text = header if isinstance(header, str) else json.dumps(header)
    raw = text.encode("utf-8", "surrogatepass")
    return struct.pack("<Q", len(raw)) + raw + (good_parts()[1] if body is None else body)


def edit(fn) -> bytes:
    header, _ = good_parts()
    fn(header)
    return craft(header)


def meta(**changes):
    return lambda h: h["__metadata__"].update(changes)


def tensor(name, **changes):
    return lambda h: h[name].update(changes)


DEEP = "[" * 100_000 + "]" * 100_000
CFG = json.dumps(tiny_model()[1].to_dict())
VOCAB = list(tiny_model()[2].itos)

CRAFTED = {
    # tensor entries: shape, dtype, data_offsets of the wrong type
    "shape-int": (edit(tensor("W1", shape=5)), "the upload: W1 has a shape that is a number, not a list of whole numbers"),
    "shape-null": (edit(tensor("W1", shape=None)), "the upload: W1 has a shape that is null, not a list of whole numbers"),
    "shape-floats": (edit(tensor("W1", shape=[6.0, 8.0])), "the upload: W1 has a shape that is a list, not a list of whole numbers"),
    "shape-true": (edit(tensor("b1", shape=[True])), "the upload: b1 has a shape that is a list, not a list of whole numbers"),
    "dtype-number": (edit(tensor("C", dtype=5)), "the upload: C has a dtype that is a number, not text"),
    "dtype-int64": (edit(tensor("C", dtype="I64")), "the upload: C has dtype I64; a floating-point tensor is required"),
    "offsets-text": (edit(tensor("b2", data_offsets="0-60")), "the upload: b2 has data_offsets that do not match its shape and dtype"),
    "offsets-one": (edit(tensor("b2", data_offsets=[0])), "the upload: b2 has data_offsets that do not match its shape and dtype"),
    "offsets-negative": (edit(tensor("b2", data_offsets=[-60, 0])), "the upload: b2 has data_offsets that do not match its shape and dtype"),
    "offsets-wrong-size": (edit(tensor("b2", data_offsets=[0, 4])), "the upload: b2 has data_offsets that do not match its shape and dtype"),
    "entry-a-list": (edit(lambda h: h.update(W2=[1, 2])), "the upload: the header entry of W2 is a list, not an object"),
    # metadata values and the format version
    "version-dict": (edit(meta(format_version={"v": 1})), "the upload has metadata 'format_version' that is an object, not text"),
    "version-list": (edit(meta(format_version=[1])), "the upload has metadata 'format_version' that is a list, not text"),
    "version-null": (edit(meta(format_version=None)), "the upload has metadata 'format_version' that is null, not text"),
    "version-float": (edit(meta(format_version="1.5")), "the upload has an unreadable format_version"),
    "metadata-a-list": (edit(lambda h: h.update(__metadata__=["mlp_lm.checkpoint"])),
                        "the upload is a safetensors file but not an mlp_lm checkpoint (no mlp_lm metadata)"),
    # the model config
    "config-nested-deep": (edit(meta(model_config=DEEP)), "the upload has its model_config nested too deeply to read"),
    "config-hidden-text": (edit(meta(model_config=CFG.replace('"hidden": 8', '"hidden": "8"'))),
                           "the upload has an invalid model config: hidden must be a whole number, got text"),
    "config-hidden-float": (edit(meta(model_config=CFG.replace('"hidden": 8', '"hidden": 8.0'))),
                            "the upload has an invalid model config: hidden must be a whole number, got a number"),
    "config-hidden-huge": (edit(meta(model_config=CFG.replace('"hidden": 8', '"hidden": ' + "9" * 40))),
                           "the upload has an invalid model config: hidden must be a whole number from 1 to 4096, got "
                           + "9" * 40),
    "config-init-list": (edit(meta(model_config=CFG.replace('"lecture"', '["lecture"]'))),
                         "the upload has an invalid model config: init must be text, got a list"),
    "config-a-list": (edit(meta(model_config="[]")), "the upload has a model config this version does not understand"),
    # the vocabulary
    "vocab-lone-surrogate": (edit(meta(vocab=json.dumps(VOCAB[:-1] + ["\ud800"]))),
                             "the upload has a vocabulary with the lone surrogate U+D800, which a name may not contain"),
    "vocab-escape": (edit(meta(vocab=json.dumps(VOCAB[:-1] + ["\x1b"]))),
                     "the upload has a vocabulary with the control character U+001B, which a name may not contain"),
    "vocab-carriage-return": (edit(meta(vocab=json.dumps(VOCAB[:-1] + ["\r"]))),
                              "the upload has a vocabulary with the control character U+000D, which a name may not contain"),
    "vocab-right-to-left-override": (edit(meta(vocab=json.dumps(VOCAB[:-1] + ["\u202e"]))),
                                     "the upload has a vocabulary with the bidirectional control character U+202E, which a name may not contain"),
    "vocab-line-separator": (edit(meta(vocab=json.dumps(VOCAB[:-1] + ["\u2028"]))),
                             "the upload has a vocabulary with the line separator U+2028, which a name may not contain"),
    "vocab-numbers": (edit(meta(vocab=json.dumps(list(range(len(VOCAB)))))),
                      "the upload has an invalid vocabulary (must be distinct single characters starting with '.')"),
    "train-config-list": (edit(meta(train_config="[1]")), "the upload has a train config that is not a JSON object"),
    "extra-nested-deep": (edit(meta(extra=DEEP)), "the upload has its extra nested too deeply to read"),
    # the header itself
    "header-nested-deep": (edit(lambda h: h.update(__pad__=json.loads("[" * 500 + "]" * 500)))[:8] and
                           craft('{"x": ' + DEEP + "}"), "the upload has a header nested too deeply to read"),
    "header-a-list": (craft("[1, 2, 3]"),
                      "the upload is not a safetensors checkpoint (its header is not a JSON object), or is truncated"),
    # item 8: duplicate keys
    "duplicate-tensor": (craft(json.dumps(good_parts()[0])[:-1] + ', "W1": ' + json.dumps(good_parts()[0]["W1"]) + "}"),
                         "the upload has a header with the key 'W1' twice"),
    "duplicate-metadata": (craft(json.dumps(good_parts()[0]).replace('"format": ', '"extra": "null", "format": ')),
                           "the upload has a header with the key 'extra' twice"),
    "duplicate-in-config": (edit(meta(model_config=CFG[:-1] + ', "hidden": 8}')),
                            "the upload has the key 'hidden' twice in its model_config"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_checkpoint_is_one_clear_line(case, tmp_path):
    raw, message = CRAFTED[case]
    with pytest.raises(CheckpointError) as e:
        ck.load(raw)
    assert str(e.value) == message
    p = tmp_path / "crafted.safetensors"
    p.write_bytes(raw)
    with pytest.raises(CheckpointError) as e:
        ck.load(p)
    assert str(e.value) == message.replace("the upload", "crafted.safetensors", 1)


def test_any_other_failure_while_reading_is_the_same_one_line(monkeypatch):
    def boom(*a):
        raise KeyError("surprise")

    monkeypatch.setattr(ck, "check_tensors", boom)
    with pytest.raises(CheckpointError) as e:
        ck.load(ck.to_bytes(*tiny_model()))
    assert str(e.value) == "the upload could not be read as an mlp_lm checkpoint ('surprise')"


@pytest.mark.parametrize("case", ["shape-int", "version-dict", "config-nested-deep", "vocab-lone-surrogate",
                                  "vocab-escape", "duplicate-tensor"])
def test_crafted_checkpoint_cli_one_line(case, tmp_path, capsys):
    from mlp_lm.cli import main

    p = tmp_path / "crafted.safetensors"
    p.write_bytes(CRAFTED[case][0])
    for args in (["sample", "--checkpoint", p], ["score", "--checkpoint", p, "emma"]):
        assert main([str(a) for a in args]) == 2
        out, err = capsys.readouterr()
        assert err == "error: " + CRAFTED[case][1].replace("the upload", "crafted.safetensors", 1) + "\n" and not out


# ================================================================================ item 4: huge finite weights

def huge(**largest):
    """The tiny model with each named tensor rescaled so that its largest |entry| is the given value."""
    p, cfg, vocab = tiny_model()
    return {k: v * (largest[k] / v.abs().max()) if k in largest else v for k, v in p.items()}, cfg, vocab


@pytest.mark.parametrize("scale", [{"W2": 3e38}, {"b2": 3.4e38}, {"C": 1e30, "W1": 1e30}],
                         ids=["W2-near-float32-max", "b2-near-float32-max", "C-and-W1-overflow-the-hidden-layer"])
def test_huge_finite_weights_are_refused_at_load(scale):
    p, cfg, vocab = huge(**scale)
    assert all(torch.isfinite(v).all() for v in p.values())
    with pytest.raises(CheckpointError, match=r"^the upload has weights so large that the model's outputs can "
                                              r"overflow: a hidden unit or logit can reach .*e\+\d\d, beyond the "
                                              r"1e\+38 float32 computes safely$"):
        ck.load(ck.to_bytes(p, cfg, vocab))


def test_large_weights_that_cannot_overflow_load_and_give_finite_logits():
    p, cfg, vocab = huge(W2=1e30, b2=1e30)  # |logit| ≤ 8e30 + 1e30 for every context
    c = ck.load(ck.to_bytes(p, cfg, vocab))
    probe = torch.tensor([[i] * cfg.block_size for i in range(len(vocab))])  # every character as the context
    assert torch.isfinite(forward(c.params, probe)[0]).all()


@pytest.mark.parametrize("scale", [{"W2": 3e38}, {"C": 1e30, "W1": 1e30}], ids=["W2", "C-W1"])
def test_sampling_and_scoring_huge_weights_stay_finite(scale):
    """Parameters that never went through a checkpoint (e.g. a run's): float64 log-softmax, no NaN, no traceback."""
    p, cfg, vocab = huge(**scale)
    for s in sample(p, vocab, cfg.block_size, n=5, seed=1, max_len=20):
        assert all(np.isfinite(step.probs).all() and step.probs.sum() == pytest.approx(1, abs=1e-5) for step in s.steps)
    sc = score(p, vocab, cfg.block_size, "emma")
    assert not np.isnan(sc.probs).any() and not np.isnan(sc.nll)  # p may underflow to 0 (nll inf): no NaN
    assert np.isfinite(next_step(p, vocab, cfg.block_size, "em", temperature=0.5, top_p=0.9).probs).all()


# ========================================================= item 12: tiny (and huge) temperature and top-p

@pytest.mark.parametrize("kw", [dict(temperature=1e-46), dict(temperature=5e-324), dict(top_p=1e-46),
                                dict(top_p=5e-324), dict(temperature=1e-46, top_p=1e-46, top_k=3),
                                dict(temperature=1e308)], ids=str)
def test_tiny_temperature_and_top_p_sample(kw, small_ds):
    p, cfg, vocab = tiny_model(small_ds.words)
    for s in sample(p, vocab, cfg.block_size, n=3, seed=2, max_len=30, **kw):
        for step in s.steps:
            assert np.isfinite(step.probs).all() and step.probs.sum() == pytest.approx(1, abs=1e-5)
            assert step.probs[step.chosen] > 0


def test_tiny_temperature_is_greedy_and_tiny_top_p_keeps_the_most_likely():
    logits = torch.tensor([[2.0, 1.0, 3.0, -1.0]])
    assert distribution(logits, temperature=1e-46).tolist() == [[0.0, 0.0, 1.0, 0.0]]
    assert distribution(logits, top_p=1e-46).tolist() == [[0.0, 0.0, 1.0, 0.0]]
    tied = torch.tensor([[3.0, 3.0, -1.0]])
    assert distribution(tied, temperature=1e-300).tolist() == [[0.5, 0.5, 0.0]]
    assert distribution(torch.tensor([[float("inf"), 1.0, float("inf")]])).tolist() == [[0.5, 0.0, 0.5]]


def test_cli_sample_with_a_tiny_temperature(tmp_path, capsys):
    from mlp_lm.cli import main

    path = ck.save(tmp_path / "m.safetensors", *tiny_model())
    for flag in ("--temperature", "--top-p"):
        assert main(["sample", "--checkpoint", str(path), "-n", "3", flag, "1e-46", "--json"]) == 0
        out, err = capsys.readouterr()
        assert len(json.loads(out)["names"]) == 3 and not err


# ================================== items 5 and 13: one character rule for names files and vocabularies, printing

LINE_SEPARATORS = ["\u2028", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\u2029"]


@pytest.mark.parametrize("sep", LINE_SEPARATORS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_line_separator_inside_a_name_is_refused_not_split(sep):
    text = "emma\nann" + sep + "marie\nbob\ncarl\ndora\neve\n"
    message = f"line 2 ({'ann' + sep + 'marie'!r}) contains the line separator U+{ord(sep):04X}"
    for source in (text, text.encode("utf-8")):
        with pytest.raises(DataError) as e:
            load_words(source)
        assert str(e.value) == message and "\n" not in str(e.value)


def test_lines_end_only_at_lf_crlf_and_cr():
    assert load_words("a\nb\r\nc\rd\r\n\r\ne\n") == ["a", "b", "c", "d", "e"]
    assert load_words(" \t anne marie\u00a0\t\n") == ["anne marie"]  # spaces, tabs and no-break spaces stripped


@pytest.mark.parametrize("name", ["\u200b", "\u200d", "\u200b\u200c\u2060", "\ufeff", "\u00ad", "\u0301",
                                  "\u200b \u200b"], ids=ascii)
def test_a_name_with_nothing_visible_is_refused(name):
    with pytest.raises(DataError) as e:
        load_words(f"emma\n{name}\nbob\n")
    assert str(e.value) == (f"line 2 ({name!r}) has no visible character (only zero-width, format, combining or "
                            f"space characters)")


def test_names_with_joiners_and_format_characters_inside_still_work():
    names = ["👩\u200d🎓", "anne\u00a0marie", "zoë", "a\u200bb", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"]
    assert load_words("\n".join(names)) == names
    assert len(load_words(data.DEFAULT_DATA)) == 32_469


REFUSED = ["\x07", "\x1b", "\r", "\t", "\x7f", "\x9b", "\u202e", "\u2066", "\u2028", "\x85", "\ud800"]


@pytest.mark.parametrize("ch", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
def test_one_character_rule_for_names_files_and_checkpoint_vocabularies(ch):
    problem = chars.char_problem(ch)
    assert problem and problem.endswith(f"U+{ord(ch):04X}")
    if ch != "\r":  # it ends a line in a names file
        with pytest.raises(DataError) as e:
            load_words(f"emma\nan{ch}n\nbob\n")
        assert str(e.value) == f"line 2 ({'an' + ch + 'n'!r}) contains {problem}"
    raw = edit(meta(vocab=json.dumps(VOCAB[:-1] + [ch])))
    with pytest.raises(CheckpointError) as e:
        ck.load(raw)
    assert str(e.value) == f"the upload has a vocabulary with {problem}, which a name may not contain"
    with pytest.raises(DataError, match=re.escape(problem)):
        Vocab.from_words(["emma", f"an{ch}n"])  # and a vocabulary built from a list of names


def test_every_allowed_character_is_allowed_in_both():
    for cp in list(range(0x20, 0x3000)) + [0x200D, 0x1F600, 0xE0067]:
        ch = chr(cp)
        if ch == "." or chars.char_problem(ch):
            continue
        assert chars.char_problem(ch) is None
        cat = unicodedata.category(ch)
        if cat not in chars.INVISIBLE:
            assert load_words(f"a{ch}b\n") == [f"a{ch}b"], hex(cp)


def test_printable_escapes_what_a_terminal_would_act_on():
    assert chars.printable("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert chars.printable("ab\rc\n\x07") == "ab\\x0dc\\x0a\\x07"
    assert chars.printable("evil\u202egnp.exe") == "evil\\u202egnp.exe"
    assert chars.printable("a\u2028b\x85c\u200bd\ud800") == "a\\u2028b\\x85c\\u200bd\\ud800"
    for fine in ("emma", "Zoë", "李小龍", "محمد", "👩\u200d🎓", "anne marie", "o'neil", "a\\b",
                 "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"):
        assert chars.printable(fine) == fine
    assert data.printable is chars.printable
