"""Holder.start: the page drawn right after a Start click already shows the new run's first steps."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from explorer.holder import Holder  # noqa: E402
from explorer.settings import default_values  # noqa: E402


def test_start_returns_once_the_first_chunk_is_trained():
    for _ in range(3):  # a fresh session's Start, three times (each a new run)
        h = Holder()
        try:
            h.start({**default_values("lecture"), "steps": 200_000})
            s = h.snapshot()
            assert s.status == "running" and s.step > 0, (s.status, s.step)
        finally:
            h.close(give_back=False)
