"""The "beyond" preset against its goal (dev ≤ 1.98 in ≤ 90 s on 2 cores) and against the recipe it replaces.

Trains `--preset beyond` and the recipe measured in the notes before it (block 8, emb 32, hidden 256, batch 256,
AdamW 5e-3 one-cycle, weight decay 0.1, 50,000 steps: dev 1.973 in 86 s) through mlp_lm's Trainer, interleaved,
on each names file given (default data/names.txt; makemore's own names.txt is how the goal is checked), and prints
dev/test loss, wall and CPU seconds of each run (training + its evaluations) and the time ratio. CPU seconds are
the steadier figure when other work shares the machine.

    python bench/bench_beyond.py [--data data/names.txt /tmp/makemore_names.txt] [--rounds 2] [--json]
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
from mlp_lm.data import DEFAULT_DATA, load_dataset  # noqa: E402
from mlp_lm.model import ModelConfig, evaluate  # noqa: E402
from mlp_lm.presets import split_preset  # noqa: E402
from mlp_lm.trainer import Trainer  # noqa: E402

NOTES_RECIPE = (dict(block_size=8, emb_dim=32, hidden=256, init="scaled"),
                dict(steps=50_000, batch_size=256, optimizer="adamw", lr=5e-3, lr2=0.0, decay_step=None,
                     schedule="onecycle", weight_decay=0.1))


def one_run(ds, model_kw: dict, train_kw: dict) -> dict:
    trainer = Trainer(ds, ModelConfig(vocab_size=len(ds.vocab), **model_kw), TrainConfig(**train_kw))
    t0, c0 = time.perf_counter(), time.process_time()
    s = trainer.run()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"dev": evaluate(s.params, ds.Xdev, ds.Ydev), "test": evaluate(s.params, ds.Xte, ds.Yte),
            "wall_s": wall, "cpu_s": cpu, "steps": s.step}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", nargs="+", type=Path, default=[DEFAULT_DATA], help="names files to train on")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds of beyond / the notes' recipe")
    ap.add_argument("--no-baseline", action="store_true", help="train only the beyond preset")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    fast.warmup()
    recipes = {"beyond": split_preset("beyond")}
    if not args.no_baseline:
        recipes["notes recipe"] = NOTES_RECIPE
    out = []
    for path in args.data:
        ds = load_dataset(path, recipes["beyond"][0]["block_size"])
        runs = {name: [] for name in recipes}
        for _ in range(args.rounds):
            for name, (m, t) in recipes.items():
                r = one_run(ds, m, t)
                runs[name].append(r)
                print(f"{path.name}: {name:12} dev {r['dev']:.4f}  test {r['test']:.4f}  {r['wall_s']:.1f} s wall, "
                      f"{r['cpu_s']:.1f} s CPU ({r['steps']:,} steps)", flush=True)
        row = {"data": str(path)}
        for name, rs in runs.items():
            row[name] = {k: round(statistics.median(r[k] for r in rs), 4) for k in ("dev", "test", "wall_s", "cpu_s")}
        if "notes recipe" in runs:
            row["cpu_ratio_beyond_over_notes"] = round(row["beyond"]["cpu_s"] / row["notes recipe"]["cpu_s"], 3)
            print(f"{path.name}: beyond takes {row['cpu_ratio_beyond_over_notes']:.2f}× the notes recipe's CPU time")
        out.append(row)
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
