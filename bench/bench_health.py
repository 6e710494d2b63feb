"""What the live health panel costs: training with `diagnostics.health` at every evaluation vs without.

For each (preset, eval interval) it trains the preset's model through mlp_lm's Trainer (the CLI's and the app's
code) for `--evals` evaluations, in interleaved rounds with and without an on_eval callback that computes
`health(...)` on the fixed batch with the engine's optimiser moments — what the trainer will do. It prints the
CPU-time ratio of the runs (with / without; the goal is ≤ 1.05; CPU time, as the machine may be shared), the median
cost of one health call, and that cost as a share of the training time between two evaluations (the steadiest
figure: steps per interval ÷ steps/s of the engine).

    python bench/bench_health.py [--rounds 3] [--evals 10] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlp_lm import fast  # noqa: E402
from mlp_lm.config import TrainConfig  # noqa: E402
from mlp_lm.data import load_dataset  # noqa: E402
from mlp_lm.diagnostics import engine_moments, fixed_batch, health  # noqa: E402
from mlp_lm.model import ModelConfig  # noqa: E402
from mlp_lm.presets import split_preset  # noqa: E402
from mlp_lm.trainer import Trainer  # noqa: E402

CASES = [("lecture", 500), ("lecture", 10_000), ("fast", 500), ("emb2", 500), ("emb2", 2_500), ("beyond", 500),
         ("beyond", 2_500)]


def one_run(ds, preset: str, interval: int, evals: int, with_health: bool) -> tuple[float, list[float], float]:
    """(CPU seconds, health call times, steps/s of the engine) for `evals` intervals of training."""
    m, t = split_preset(preset)
    cfg = TrainConfig(**{**t, "steps": interval * evals, "eval_interval": interval, "threads": 1})
    trainer = Trainer(ds, ModelConfig(vocab_size=len(ds.vocab), **m), cfg)
    Xb, Yb = fixed_batch(ds.Xtr, ds.Ytr, cfg.seed)
    calls: list[float] = []

    def on_eval(s):
        t0 = time.perf_counter()
        health(s.params, Xb, Yb, s.lr, cfg.optimizer, cfg.weight_decay, engine_moments(trainer._engine), s.step)
        calls.append(time.perf_counter() - t0)

    if with_health:
        trainer.add_callback("on_eval", on_eval)
    t0 = time.process_time()  # CPU time of this process: steadier than wall time on a shared machine
    s = trainer.run()
    return time.process_time() - t0, calls, s.step / s.elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of with / without")
    ap.add_argument("--evals", type=int, default=10, help="evaluations per run")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    fast.warmup()
    rows = []
    for preset, interval in CASES:
        m, _ = split_preset(preset)
        ds = load_dataset(None, m["block_size"])
        ratios, calls, sps = [], [], []
        for _ in range(args.rounds):
            without, _, sp = one_run(ds, preset, interval, args.evals, False)
            with_, c, _ = one_run(ds, preset, interval, args.evals, True)
            ratios.append(with_ / without)
            calls += c
            sps.append(sp)
        call_ms = statistics.median(calls) * 1e3
        share = call_ms / 1e3 / (interval / statistics.median(sps))
        row = {"preset": preset, "eval_interval": interval, "time_ratio_with_over_without": round(statistics.median(ratios), 3),
               "health_call_ms": round(call_ms, 2), "share_of_training_between_evals": round(share, 4),
               "steps_per_s": round(statistics.median(sps))}
        rows.append(row)
        print(f"{preset:8} every {interval:6,} steps: with/without {row['time_ratio_with_over_without']:.3f} "
              f"(rounds {', '.join(f'{r:.3f}' for r in ratios)}); one health call {call_ms:.2f} ms = "
              f"{100 * share:.2f} % of the {interval:,} steps' training at {row['steps_per_s']:,} steps/s", flush=True)
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
