"""Parallel trials: a search of ≥ 8 trials with 2 jobs (loky worker processes) against 1 job (in this process).

Each trial is the lecture's model (block 3, emb 10, hidden 200, SGD 0.1 → 0.01) on data/names.txt with its own seed,
run through mlp_lm.grid_runner exactly as `python -m mlp_lm grid` runs it; runs go to a temporary store. Rounds are
interleaved: 1 job, then 2 jobs with fresh workers ("cold": they start, import torch and load the kernel inside the
measured time), then 2 jobs again at once ("warm": joblib reuses the idle workers, as a second search in the app or a
long search does). Reports each side's median wall time and the ratios 2 jobs / 1 job (target ≤ 0.6 on 2 cores).

    python bench/bench_grid.py [--trials 8] [--steps 50000] [--rounds 2] [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil  # a dependency of distributed

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlp_lm import fast  # noqa: E402
from mlp_lm.data import DEFAULT_DATA, load_words  # noqa: E402
from mlp_lm.grid import SearchSpec, lecture_base  # noqa: E402
from mlp_lm.grid_runner import GridRun  # noqa: E402

IDLE = 2.0  # loky workers exit this long after their last trial: a 1-job round lasts longer, so "cold" is cold


class OthersCPU:
    """Cores used by processes outside this benchmark's process tree while it measures: on a shared 2-core machine,
    2 jobs can only beat 1 by the cores the others leave free, so the figure says whether a ratio means anything."""

    def __init__(self):
        self.me, self.seen, self.busy0, self.t0 = psutil.Process(), {}, None, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _ours(self) -> float:
        for p in [self.me, *self.me.children(recursive=True)]:
            try:
                t = p.cpu_times()
                self.seen[p.pid] = t.user + t.system
            except psutil.Error:
                pass  # a worker that just exited keeps its last reading
        return sum(self.seen.values())

    def _busy(self) -> float:
        t = psutil.cpu_times()
        return t.user + t.system + t.nice + getattr(t, "irq", 0) + getattr(t, "softirq", 0)

    def _loop(self):
        while not self._stop.wait(0.5):
            self._ours()

    def __enter__(self):
        self.ours0, self.busy0, self.t0 = self._ours(), self._busy(), time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        wall = time.perf_counter() - self.t0
        self.ours = self._ours() - self.ours0
        self.others = max(self._busy() - self.busy0 - self.ours, 0.0) / wall  # cores, averaged over the window
        self.ours /= wall


def one_search(words, spec, jobs: int, runs_dir: str) -> dict:
    run = GridRun(spec, words, "names.txt (default)", runs_dir=runs_dir, jobs=jobs, worker_idle=IDLE)
    t0 = time.perf_counter()
    with OthersCPU() as cpu:
        results = list(run.results())
    seconds = time.perf_counter() - t0
    bad = [r for r in results if r.status != "finished"]
    if bad:
        raise SystemExit(f"a trial did not finish: {bad[0].status}: {bad[0].message}")
    return {"seconds": seconds, "workers": len({r.worker for r in results}), "our_cores": cpu.ours,
            "others_cores": cpu.others, "train_s": statistics.median(r.seconds for r in results),
            "dev": sorted(round(r.dev_loss, 4) for r in results)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=8, help="trials per search (seeds 1..N)")
    ap.add_argument("--steps", type=int, default=50_000, help="training steps per trial")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds of (1 job, 2 jobs cold, 2 jobs warm)")
    ap.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    args = ap.parse_args()
    words = load_words(DEFAULT_DATA)
    spec = SearchSpec({"seed": tuple(range(1, args.trials + 1))},
                      base=lecture_base() | {"steps": args.steps, "decay_step": None, "eval_interval": 0})
    fast.warmup()  # the 1-job side trains in this process: compile/load the kernel before timing
    sides = {"1 job": [], "2 jobs cold": [], "2 jobs warm": []}
    with tempfile.TemporaryDirectory(prefix="bench_grid_") as runs_dir:
        for rnd in range(args.rounds):
            for side, jobs in (("1 job", 1), ("2 jobs cold", 2), ("2 jobs warm", 2)):
                r = one_search(words, spec, jobs, runs_dir)
                sides[side].append(r)
                print(f"round {rnd + 1}: {side:>11}: {r['seconds']:6.1f} s ({r['workers']} worker process(es); "
                      f"median trial trains {r['train_s']:.1f} s; this search used {r['our_cores']:.2f} cores, "
                      f"other processes {r['others_cores']:.2f})", file=sys.stderr)
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in sides.items()}
    same = sides["1 job"][0]["dev"] == sides["2 jobs cold"][0]["dev"] == sides["2 jobs warm"][0]["dev"]
    summary = {"trials": args.trials, "steps": args.steps, "rounds": args.rounds, "cpus": os.cpu_count(),
               "load_avg_1min": round(os.getloadavg()[0], 2),
               **{f"median_s_{k.replace(' ', '_')}": round(v, 2) for k, v in med.items()},
               "ratio_cold": round(med["2 jobs cold"] / med["1 job"], 3),
               "ratio_warm": round(med["2 jobs warm"] / med["1 job"], 3),
               "per_round_ratio_cold": [round(c["seconds"] / o["seconds"], 3) for c, o in zip(sides["2 jobs cold"], sides["1 job"])],
               "per_round_ratio_warm": [round(w["seconds"] / o["seconds"], 3) for w, o in zip(sides["2 jobs warm"], sides["1 job"])],
               "others_cores_median": round(statistics.median(r["others_cores"] for v in sides.values() for r in v), 2),
               "median_trial_train_s": {k: round(statistics.median(r["train_s"] for r in v), 2) for k, v in sides.items()},
               "same_dev_losses": same, "target_ratio": 0.6}
    print(f"{args.trials} trials × {args.steps:,} steps: 1 job {med['1 job']:.1f} s · 2 jobs {med['2 jobs cold']:.1f} s "
          f"with fresh workers (ratio {summary['ratio_cold']:.2f}), {med['2 jobs warm']:.1f} s with warm ones "
          f"(ratio {summary['ratio_warm']:.2f}); target ≤ 0.6 · same dev losses: {same} · other processes used "
          f"{summary['others_cores_median']:.2f} of {os.cpu_count()} cores meanwhile")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
