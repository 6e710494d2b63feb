"""Memory over a very long run: RSS of a Trainer thread at checkpoints up to 1,000,000 steps (fast engine).

    python bench/bench_memory.py [--steps 1000000] [--json]
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlp_lm.config import TrainConfig  # noqa: E402
from mlp_lm.data import load_dataset  # noqa: E402
from mlp_lm.model import ModelConfig  # noqa: E402
from mlp_lm.trainer import Trainer  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ds = load_dataset(None, 3)
    t = Trainer(ds, ModelConfig(), TrainConfig(steps=args.steps, eval_interval=10_000, lr2=0.01))
    readings = [(0, rss_mb())]
    t.start()
    marks = [args.steps // 10 * i for i in range(1, 11)]
    t0 = time.perf_counter()
    while t.alive:
        s = t.snapshot()
        while marks and s.step >= marks[0]:
            readings.append((marks.pop(0), rss_mb()))
            print(f"step {readings[-1][0]:>9,}: RSS {readings[-1][1]:.0f} MB, {len(s.losses):,} loss points, "
                  f"{len(s.evals)} evals", flush=True)
        time.sleep(0.2)
    s = t.snapshot()
    readings.append((s.step, rss_mb()))
    growth = readings[-1][1] - readings[1][1]
    print(f"{s.status} after {s.step:,} steps in {time.perf_counter() - t0:.0f} s; RSS {readings[-1][1]:.0f} MB, "
          f"growth since the first tenth {growth:+.1f} MB; {len(s.losses):,} loss points kept")
    if args.json:
        print(json.dumps({"steps": s.step, "rss_mb": [round(r, 1) for _, r in readings], "growth_mb": round(growth, 1),
                          "loss_points": len(s.losses)}))


if __name__ == "__main__":
    main()
