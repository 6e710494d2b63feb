"""The lecture's training loop against FastEngine, side by side on one machine.

Both train the lecture recipe (block 3, emb 10, hidden 200, batch 32, SGD 0.1 then 0.01 from the midpoint) from the
same initial parameters on the same minibatches (two generators with the same seed give the same index stream).
They run INTERLEAVED, a round of steps each in turn (who goes first alternates), so machine noise hits both; each
side's steps/s is its steps over its own summed wall time. One torch thread, one BLAS thread.

    python bench/bench_trainer.py              # 200,000 steps (the lecture's run; ~2 minutes for the loop alone)
    python bench/bench_trainer.py --quick      # 20,000 steps
    python bench/bench_trainer.py --json       # ... and a JSON object on the last line
    python bench/bench_trainer.py --trainer    # also time mlp_lm.trainer.Trainer end to end (evaluations included)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlp_lm.config import TrainConfig  # noqa: E402
from mlp_lm.data import load_dataset  # noqa: E402
from mlp_lm.fast import FastEngine, limit_blas_threads, warmup  # noqa: E402
from mlp_lm.model import PARAM_NAMES, ModelConfig, evaluate, init_params  # noqa: E402
from mlp_lm.schedule import lr_schedule  # noqa: E402


class Lecture:
    """makemore part 2's loop, as written in the lecture: autograd, `.item()` every step, manual SGD."""

    def __init__(self, params, Xtr, Ytr, steps, seed):
        self.C, self.W1, self.b1, self.W2, self.b2 = (params[k].clone() for k in PARAM_NAMES)
        self.parameters = [self.C, self.W1, self.b1, self.W2, self.b2]
        for p in self.parameters:
            p.requires_grad = True
        self.Xtr, self.Ytr, self.steps = Xtr, Ytr, steps
        self.g = torch.Generator().manual_seed(seed)
        self.lossi = []

    def train(self, start, stop):
        C, W1, b1, W2, b2 = self.parameters
        Xtr, Ytr, parameters, g = self.Xtr, self.Ytr, self.parameters, self.g
        for i in range(start, stop):
            # minibatch construct
            ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)
            # forward pass
            emb = C[Xtr[ix]]  # (32, 3, 10)
            h = torch.tanh(emb.view(-1, 30) @ W1 + b1)  # (32, 200)
            logits = h @ W2 + b2  # (32, 27)
            loss = F.cross_entropy(logits, Ytr[ix])
            # backward pass
            for p in parameters:
                p.grad = None
            loss.backward()
            # update
            lr = 0.1 if i < self.steps // 2 else 0.01
            for p in parameters:
                p.data += -lr * p.grad
            # track stats
            self.lossi.append(loss.item())

    def params(self):
        return {k: p.detach().clone() for k, p in zip(PARAM_NAMES, self.parameters)}


class Fast:
    """The same run on FastEngine, driven like the trainer drives it: indices and rates drawn a chunk at a time."""

    def __init__(self, params, Xtr, Ytr, steps, seed, chunk):
        self.cfg = TrainConfig(steps=steps, lr=0.1, lr2=0.01, schedule="step", threads=1)
        self.engine = FastEngine(params, Xtr, Ytr, self.cfg)
        self.n, self.steps, self.chunk = len(Ytr), steps, chunk
        self.g = torch.Generator().manual_seed(seed)
        self.lossi = []

    def train(self, start, stop):
        for c0 in range(start, stop, self.chunk):
            c1 = min(c0 + self.chunk, stop)
            idx = torch.randint(0, self.n, (c1 - c0, 32), generator=self.g)
            lrs = lr_schedule("step", self.cfg.lr, self.cfg.lr2, self.cfg.decay_at, self.steps, np.arange(c0, c1))
            losses = self.engine.run(idx, lrs)
            if len(losses) < c1 - c0:
                raise RuntimeError(f"the fast engine stopped at a non-finite loss at step {c0 + len(losses)}")
            self.lossi.extend(losses.tolist())

    def params(self):
        return self.engine.params()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200_000, help="optimisation steps for each side (default 200,000)")
    ap.add_argument("--quick", action="store_true", help="20,000 steps")
    ap.add_argument("--round", type=int, default=2_000, help="steps each side runs per turn (default 2,000)")
    ap.add_argument("--chunk", type=int, default=1_000, help="steps per FastEngine.run call (default 1,000)")
    ap.add_argument("--seed", type=int, default=42, help="seed of the minibatch generators")
    ap.add_argument("--trainer", action="store_true", help="also time mlp_lm.trainer.Trainer(...).run() on the fast engine")
    ap.add_argument("--json", action="store_true", help="print one JSON object with the results on the last line")
    args = ap.parse_args(argv)
    steps = 20_000 if args.quick else args.steps

    torch.set_num_threads(1)
    limit_blas_threads(1)
    ds = load_dataset(None, 3)
    mcfg = ModelConfig(vocab_size=len(ds.vocab))
    params0 = init_params(mcfg)
    compile_s = warmup()
    print(f"fast kernel warm-up (compile or cache load): {compile_s:.2f} s")
    print(f"{steps:,} steps each, rounds of {args.round:,}, interleaved; torch threads {torch.get_num_threads()}; "
          f"load average {os.getloadavg()[0]:.2f}")

    sides = {"reference": Lecture(params0, ds.Xtr, ds.Ytr, steps, args.seed),
             "fast": Fast(params0, ds.Xtr, ds.Ytr, steps, args.seed, args.chunk)}
    spent = {name: 0.0 for name in sides}
    block = {name: 0.0 for name in sides}  # time since the last progress line
    ratios, printed = [], 0
    for r, start in enumerate(range(0, steps, args.round)):
        stop = min(start + args.round, steps)
        dt = {}
        for name in (("reference", "fast") if r % 2 == 0 else ("fast", "reference")):
            t0 = time.perf_counter()
            sides[name].train(start, stop)
            dt[name] = time.perf_counter() - t0
            spent[name] += dt[name]
            block[name] += dt[name]
        ratios.append(dt["reference"] / dt["fast"])
        if stop - printed >= 10_000 or stop == steps:
            n = stop - printed
            print(f"  steps {stop:>9,}: reference {n / block['reference']:>7,.0f}/s   fast {n / block['fast']:>7,.0f}/s   "
                  f"×{block['reference'] / block['fast']:.2f}", flush=True)
            block = {name: 0.0 for name in sides}
            printed = stop

    res = {name: {"steps_per_s": steps / spent[name], "dev_loss": evaluate(side.params(), ds.Xdev, ds.Ydev),
                  "last_1000": float(np.mean(side.lossi[-1000:]))} for name, side in sides.items()}
    ratio = res["fast"]["steps_per_s"] / res["reference"]["steps_per_s"]
    print(f"reference (lecture loop): {res['reference']['steps_per_s']:>9,.0f} steps/s   dev {res['reference']['dev_loss']:.4f}")
    print(f"fast engine:              {res['fast']['steps_per_s']:>9,.0f} steps/s   dev {res['fast']['dev_loss']:.4f}")
    print(f"ratio: {ratio:.2f}× (per-round ratios: min {min(ratios):.2f}, median {statistics.median(ratios):.2f}, "
          f"max {max(ratios):.2f});  |dev difference| {abs(res['fast']['dev_loss'] - res['reference']['dev_loss']):.4f}; "
          f"load average {os.getloadavg()[0]:.2f}")
    out = {"steps": steps, "reference_steps_per_s": res["reference"]["steps_per_s"],
           "fast_steps_per_s": res["fast"]["steps_per_s"], "ratio": ratio,
           "reference_dev_loss": res["reference"]["dev_loss"], "fast_dev_loss": res["fast"]["dev_loss"],
           "fast_warmup_s": compile_s, "round_ratio_median": statistics.median(ratios)}

    if args.trainer:
        try:
            from mlp_lm.trainer import Trainer
        except ImportError as e:
            print(f"trainer: not available ({e})")
        else:
            snap = Trainer(ds, mcfg, TrainConfig(steps=steps, engine="fast")).run()
            sps = snap.step / snap.elapsed if snap.elapsed else float("nan")
            dev = snap.last_eval.dev if snap.last_eval else float("nan")
            print(f"Trainer (fast engine, evaluations included): {snap.status}, {sps:,.0f} steps/s   dev {dev:.4f}")
            out.update(trainer_steps_per_s=sps, trainer_dev_loss=dev)
    if args.json:
        print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
