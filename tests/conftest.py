"""Shared fixtures: a small dataset from data/names.txt, and a guard that no trainer thread outlives a test."""
import threading

import pytest

from mlp_lm.data import DEFAULT_DATA, load_words, make_dataset


@pytest.fixture(scope="session")
def small_words():
    return load_words(DEFAULT_DATA)[::20]  # 1,624 names, every letter present


@pytest.fixture(scope="session")
def small_ds(small_words):
    return make_dataset(small_words, 3)


def trainer_threads():
    return [t for t in threading.enumerate() if t.name == "mlp_lm-trainer" and t.is_alive()]


@pytest.fixture(autouse=True)
def no_leaked_trainer_threads():
    yield
    for t in trainer_threads():
        t.join(5)
    assert not trainer_threads(), "a trainer thread outlived its test"
