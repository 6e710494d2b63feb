"""The fast kernel's two first-layer paths side by side: matmuls vs lookup tables (see mlp_lm/fast.py).

For each size (block, emb, hidden, batch) it trains the same AdamW steps on data/names.txt with both paths, in
interleaved rounds on one thread, and prints steps/s of each, their ratio (median over rounds) and what
`fast.use_tables` picks. This is where the rule in `use_tables` comes from.

    python bench/bench_fast_tables.py [--rounds 5] [--steps 300] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlp_lm import fast  # noqa: E402
from mlp_lm.config import TrainConfig  # noqa: E402
from mlp_lm.data import load_dataset  # noqa: E402
from mlp_lm.model import ModelConfig, init_params  # noqa: E402

SIZES = [(3, 10, 200, 32), (3, 10, 200, 64), (3, 10, 200, 128), (3, 2, 100, 32), (8, 32, 256, 256),
         (8, 32, 256, 64), (8, 24, 512, 256), (8, 32, 384, 512)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=300, help="steps per measurement (scaled down for big sizes)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    fast.warmup()
    rows = []
    for T, E, H, B in SIZES:
        ds = load_dataset(None, T)
        mcfg = ModelConfig(block_size=T, emb_dim=E, hidden=H, vocab_size=len(ds.vocab), init="scaled")
        cfg = TrainConfig(optimizer="adamw", lr=1e-3, weight_decay=0.1, batch_size=B, threads=1)
        engines = {tab: fast.FastEngine(init_params(mcfg, 1), ds.Xtr, ds.Ytr, cfg, tables=tab) for tab in (False, True)}
        n = max(20, int(args.steps * 32 * 200 * 30 / (B * H * T * E)))
        g = torch.Generator().manual_seed(0)
        speed = {False: [], True: []}
        for _ in range(args.rounds):
            idx = torch.randint(0, len(ds.Ytr), (n, B), generator=g)
            for tab, eng in engines.items():
                t0 = time.perf_counter()
                eng.run(idx, np.full(n, 1e-3))
                speed[tab].append(n / (time.perf_counter() - t0))
        ratio = statistics.median(t / m for t, m in zip(speed[True], speed[False]))
        row = {"block": T, "emb": E, "hidden": H, "batch": B, "matmul_steps_s": round(statistics.median(speed[False])),
               "tables_steps_s": round(statistics.median(speed[True])), "tables_over_matmul": round(ratio, 2),
               "picked": "tables" if fast.use_tables(len(ds.vocab), E, T, H, B) else "matmul"}
        rows.append(row)
        print(f"block {T} emb {E} hidden {H} batch {B}: matmul {row['matmul_steps_s']:,} steps/s, tables "
              f"{row['tables_steps_s']:,} steps/s, ratio {ratio:.2f}× (use_tables picks {row['picked']})", flush=True)
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
