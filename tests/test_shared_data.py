"""explorer/shared_data.py: sessions share the default names and the datasets built from the same names, and the
sharing keeps nothing a session has let go (except the one dataset the server's start-up made)."""
import gc
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorer import shared_data  # noqa: E402
from explorer.holder import Holder, Names, parse_text  # noqa: E402
from mlp_lm import data  # noqa: E402

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper"]


def test_two_sessions_share_the_default_names_and_their_dataset(monkeypatch):
    a = Holder()
    reads = []
    monkeypatch.setattr(shared_data, "load_words", lambda src: reads.append(src) or data.load_words(src))
    b = Holder()
    assert b.names is a.names and reads == []  # the file is read once per server, not once per session
    assert a.dataset(3) is b.dataset(3)        # one copy of X/Y for both
    assert a.dataset(4) is not a.dataset(3) and a.dataset(4).block_size == 4
    a.close(give_back=False), b.close(give_back=False)


def test_the_same_uploaded_names_are_shared_and_different_names_are_not():
    a, b, c = Holder(), Holder(), Holder()
    a.names, b.names = parse_text("\n".join(WORDS)), parse_text("\n".join(WORDS))
    c.names = parse_text("\n".join(WORDS[:-1] + ["noah"]))
    assert a.dataset(3) is b.dataset(3)
    assert c.dataset(3) is not a.dataset(3) and "noah" in c.dataset(3).words
    for h in (a, b, c):
        h.close(give_back=False)


def test_a_dataset_no_session_holds_is_not_kept():
    h = Holder()
    h.names = parse_text("\n".join(WORDS + ["zoe"]))
    key = (h.names.fingerprint, 5)
    h.dataset(5)
    assert key in shared_data._datasets
    h.close(give_back=False)
    del h
    gc.collect()
    assert key not in shared_data._datasets


def test_the_start_ups_dataset_is_the_first_sessions():
    ds = shared_data.warm(3)
    gc.collect()
    h = Holder()
    assert h.names.default and h.dataset(3) is ds
    h.close(give_back=False)


def test_a_changed_default_file_is_read_again(tmp_path, monkeypatch):
    f = tmp_path / "names.txt"
    f.write_text("\n".join(WORDS) + "\n")
    monkeypatch.setattr(shared_data, "DEFAULT_DATA", f)
    first = shared_data.default_names()
    assert first.words == tuple(WORDS) and first.default
    f.write_text("\n".join(WORDS + ["lucas"]) + "\n")
    assert shared_data.default_names().words[-1] == "lucas"
    assert isinstance(first, Names)


def test_the_bigram_baseline_is_computed_once_per_names_list(monkeypatch):
    from mlp_lm.bigram import bigram_dev_loss

    h = Holder()
    h.names = parse_text("\n".join(WORDS + ["ivy", "leo"]))
    ds = h.dataset(3)
    calls = []
    monkeypatch.setattr(shared_data, "bigram_dev_loss", lambda d: calls.append(d) or bigram_dev_loss(d))
    first = shared_data.bigram_loss(h.names.fingerprint, ds)
    assert first == float(bigram_dev_loss(ds))
    assert shared_data.bigram_loss(h.names.fingerprint, h.dataset(5)) == first and len(calls) == 1
    h.close(give_back=False)


def test_warm_computes_the_default_bigram_baseline(monkeypatch):
    monkeypatch.setattr(shared_data, "_bigram", {})
    shared_data.warm(3)
    assert shared_data.default_names().fingerprint in shared_data._bigram
