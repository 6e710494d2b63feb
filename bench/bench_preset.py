"""Time to lecture quality: how long the "fast" preset takes to reach dev loss ≤ 2.17 on data/names.txt.

Runs the preset through mlp_lm's Trainer (the same code as the CLI and the app), evaluating the whole dev split every
--eval-every steps, and reports the wall time (evaluations included) at the first evaluation with dev ≤ the target,
and the final dev loss. The lecture's own recipe needs ~100 s on these machines for the same quality.

    python bench/bench_preset.py [--repeats 3] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlp_lm import fast  # noqa: E402
from mlp_lm.config import TrainConfig  # noqa: E402
from mlp_lm.data import load_dataset  # noqa: E402
from mlp_lm.model import ModelConfig, evaluate  # noqa: E402
from mlp_lm.presets import split_preset  # noqa: E402
from mlp_lm.trainer import Trainer  # noqa: E402


def one_run(ds, preset: str, target: float, eval_every: int) -> dict:
    m, t = split_preset(preset)
    trainer = Trainer(ds, ModelConfig(vocab_size=len(ds.vocab), **m), TrainConfig(**{**t, "eval_interval": eval_every}))
    hits = []
    t0 = time.perf_counter()
    trainer.add_callback("on_eval", lambda s: hits.append((time.perf_counter() - t0, s.step, s.evals[-1].dev)))
    trainer.add_callback("on_end", lambda s: hits.append((time.perf_counter() - t0, s.step, s.evals[-1].dev)))
    s = trainer.run()
    total = time.perf_counter() - t0
    first = next(((sec, step, dev) for sec, step, dev in hits if dev <= target), None)
    return {"seconds_to_target": first[0] if first else None, "step_at_target": first[1] if first else None,
            "total_seconds": total, "final_dev": evaluate(s.params, ds.Xdev, ds.Ydev), "steps": s.step}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="fast")
    ap.add_argument("--target", type=float, default=2.17)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ds = load_dataset(None, 3)
    warm = fast.warmup()
    runs = [one_run(ds, args.preset, args.target, args.eval_every) for _ in range(args.repeats)]
    for r in runs:
        print(f"dev ≤ {args.target} after {r['seconds_to_target']:.2f} s (step {r['step_at_target']:,}); "
              f"whole run {r['total_seconds']:.2f} s, final dev {r['final_dev']:.4f}" if r["seconds_to_target"] else
              f"never reached {args.target}: final dev {r['final_dev']:.4f} in {r['total_seconds']:.2f} s")
    ok = [r["seconds_to_target"] for r in runs if r["seconds_to_target"] is not None]
    summary = {"preset": args.preset, "target": args.target, "warmup_s": round(warm, 3),
               "median_seconds_to_target": round(statistics.median(ok), 3) if ok else None,
               "median_total_seconds": round(statistics.median(r["total_seconds"] for r in runs), 3),
               "final_dev": round(runs[-1]["final_dev"], 4), "runs": len(runs), "reached": len(ok)}
    print(f"median time to dev ≤ {args.target}: {summary['median_seconds_to_target']} s "
          f"(whole run {summary['median_total_seconds']} s; kernel warm-up {warm:.2f} s)")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
