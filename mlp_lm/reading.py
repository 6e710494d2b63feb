"""A plain-language reading of a run's train and dev losses: underfitting, a healthy gap, or overfitting.

makemore part 2's rule of thumb: when the dev loss is about the training loss, the model is not overfitting; it is
probably too small to fit the data better (underfitting), the cue to make it bigger. When the dev loss sits well above
the training loss, the model has learned its training names rather than names in general (overfitting). The
thresholds are relative to the training loss and are a reading aid, not a test of significance.

    fit_reading(2.12, 2.16)     # "Train and dev agree …: not overfitting. …"
    fit_reading(0.31, 8.09, n_train_names=12)   # "Overfitting: …"
"""
from __future__ import annotations

import math

AGREE = 0.05    # dev within 5 % of train: "about equal" (the lecture's 2.12 / 2.17 is 2.4 %)
OVERFIT = 0.15  # dev more than 15 % above train: overfitting


def fit_reading(train: float, dev: float, *, n_train_names: int | None = None, finished: bool = True) -> str:
    """One or two sentences on what the train/dev losses say; "" when they are not finite numbers (> 0 for train).

    n_train_names: the size of the training split, mentioned when it is small (a likely cause of overfitting).
    finished: False while the run is still training (the reading then says "so far").
    """
    try:
        train, dev = float(train), float(dev)
    except (TypeError, ValueError):
        return ""
    if not (math.isfinite(train) and math.isfinite(dev)) or train <= 0 or dev < 0:
        return ""
    gap = (dev - train) / train
    figures = f"train {train:.3f}, dev {dev:.3f}"
    so_far = "" if finished else " so far"
    if gap > OVERFIT:
        few = (f" With only {n_train_names:,} training names the model can memorise them."
               if n_train_names is not None and n_train_names < 1_000 else "")
        return (f"Overfitting{so_far}: the dev loss is {dev / train:.1f}× the training loss ({figures}). The model has "
                f"learned its training names, not names in general.{few} More data, a smaller model, weight decay or "
                "fewer steps would bring the two together.")
    if gap > AGREE:
        return (f"Dev is a little above train{so_far} ({figures}, {100 * gap:.0f} % higher): the model starts to fit its "
                "training names better than unseen ones. Not a problem yet; watch whether the gap grows.")
    if gap < -AGREE:
        return (f"Dev is below train{so_far} ({figures}): the splits differ by chance (the dev names happen to be "
                "easier); nothing to read into it. The model is not overfitting.")
    return (f"Train and dev agree{so_far} ({figures}): not overfitting. A loss higher than you want then means the "
            "model is too small for the data (underfitting) — the lecture's cue to make it bigger (more hidden units, "
            "a larger embedding or a longer context).")
