"""mlp_lm.reading.fit_reading: the lecture's rule of thumb on train vs dev loss, in words."""
import math

import pytest

from mlp_lm.reading import AGREE, OVERFIT, fit_reading


def test_the_issues_tiny_dataset_reads_as_overfitting():
    text = fit_reading(0.31, 8.09, n_train_names=12)
    assert text.startswith("Overfitting") and "26.1×" in text and "12 training names" in text
    assert "underfitting" not in text


def test_the_lectures_losses_read_as_not_overfitting_and_the_cue_to_grow():
    text = fit_reading(2.12, 2.17)  # makemore part 2's figures: 2.4 % apart
    assert "not overfitting" in text and "underfitting" in text and "bigger" in text
    assert "Overfitting" not in text


@pytest.mark.parametrize("train, dev, word", [
    (2.0, 2.0 * (1 + AGREE * 0.9), "agree"),
    (2.0, 2.0 * (1 + AGREE * 1.1), "a little above"),
    (2.0, 2.0 * (1 + OVERFIT * 0.9), "a little above"),
    (2.0, 2.0 * (1 + OVERFIT * 1.1), "Overfitting"),
    (2.0, 2.0 * (1 - AGREE * 1.1), "below train"),
])
def test_thresholds(train, dev, word):
    assert word in fit_reading(train, dev)


def test_a_large_training_set_is_not_blamed_and_a_live_run_says_so_far():
    assert "With only" not in fit_reading(1.0, 3.0, n_train_names=25_000)
    assert "so far" in fit_reading(1.0, 3.0, finished=False) and "so far" not in fit_reading(1.0, 3.0)


@pytest.mark.parametrize("train, dev", [(math.nan, 2.0), (2.0, math.inf), (0.0, 1.0), (-1.0, 1.0), (None, 1.0), ("x", 1)])
def test_no_reading_without_sensible_numbers(train, dev):
    assert fit_reading(train, dev) == ""
