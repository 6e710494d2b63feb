"""`python -m mlp_lm grid`: a hyperparameter search from the command line (registered by cli.py).

    python -m mlp_lm grid --hidden 100,200,300 --emb-dim 2,10 --steps 20000 --jobs 2
    python -m mlp_lm grid --example scaling                       # the lecture's scaling experiment (6 trials)
    python -m mlp_lm grid --lr 1e-3:1e-1 --hidden 100,200,300 --random 8 --draw-seed 0 --optimizer adam
    python -m mlp_lm grid --hidden 100,200 --backend dask --scheduler tcp://10.0.0.5:8786

Every training flag takes one value or a comma list; a setting with several values is searched, one value applies
to every trial. Settings resolve as in `train`: the dataclass defaults < --preset (or --example) < flags. Each trial
is a run in the store (source "grid", grouped by the search's id). Prints a progress bar over trials, a table sorted
by dev loss, and with --json one JSON object on the last line. Ctrl-C stops the search: running trials end (and are
kept as "stopped"), the rest are cancelled; a second Ctrl-C quits at once.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

from .grid import MAX_TRIALS, PARAMS, SCALING, SearchSpec, base_settings, parse_values
from .errors import ConfigError
from .grid_runner import BACKENDS, GridRun
from .presets import split_preset

EXAMPLES = {"scaling": SCALING}  # --example NAME: a built-in search


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the `grid` command to cli.py's subparsers: cli.py's data / model / training flags, each taking a comma
    list, and the search's own flags."""
    from .cli import RUNS_HELP, add_config_flags

    g = subparsers.add_parser("grid", help="a hyperparameter search: trials in parallel, here or on a Dask cluster",
                              description="A hyperparameter search: every combination (or N random draws) of the values given, each trial "
                                          "a run in the store, several at a time.\n\n" + __doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog="Every model and training flag takes one value or a comma list (e.g. --hidden "
                                     "100,200,300); with --random also a range LOW:HIGH (e.g. --lr 1e-3:1e-1).")
    add_config_flags(g, value_type=str)
    s = g.add_argument_group("search")
    s.add_argument("--example", choices=sorted(EXAMPLES),
                   help="a built-in search: 'scaling' is the lecture's hidden 100/200/300 × embedding 2/10 at block 3")
    s.add_argument("--random", type=int, default=None, metavar="N",
                   help=f"N seeded random draws instead of the full grid (1–{MAX_TRIALS}); a flag may then be a range LOW:HIGH")
    s.add_argument("--draw-seed", type=int, default=0, help="seed of the random draws: the same seed draws the same trials (default 0)")
    s.add_argument("--jobs", type=int, default=None, help="trials at a time (default: the CPU cores)")
    s.add_argument("--backend", choices=BACKENDS, default="loky",
                   help="loky: worker processes on this machine (default); dask: a Dask cluster (see --scheduler)")
    s.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="the Dask scheduler, e.g. tcp://10.0.0.5:8786 (default with --backend dask: a local cluster of --jobs workers)")
    o = g.add_argument_group("output")
    o.add_argument("--runs-dir", type=Path, default=None, help=RUNS_HELP + "; on a cluster, a folder every worker shares")
    o.add_argument("--csv", type=Path, default=None, metavar="PATH", help="also write the results table as CSV")
    o.add_argument("--json", action="store_true", help="print one JSON object of results on the last line")
    o.add_argument("--no-progress", action="store_true", help="no progress bar")
    o.add_argument("--progress", action="store_true", help="a progress bar even when stderr is not a terminal")
    return g


def build_spec(args) -> SearchSpec:
    """Defaults < --preset / --example < flags; a flag with several values (or a range) is searched."""
    example = EXAMPLES.get(args.example) if args.example else None
    base = dict(example.base) if example else {}
    values = dict(example.values) if example else {}
    if args.preset:
        model, train = split_preset(args.preset)
        base |= model | train
    if getattr(args, "threads", None) is not None:
        raise ConfigError("--threads: every trial trains on one thread (one per worker process); use --jobs")
    for name in PARAMS:
        text = getattr(args, name, None)
        if text is None:
            continue
        v = parse_values(name, text)
        if isinstance(v, tuple) and len(v) == 1:
            base[name] = v[0]
            values.pop(name, None)
        else:
            values[name] = v
    return SearchSpec(values, base=base_settings(base), random=args.random, draw_seed=args.draw_seed)


def _words(args):
    from .data import DEFAULT_DATA, load_words

    path = args.data or DEFAULT_DATA
    return load_words(path), (f"{path.name} (default)" if args.data is None else path.name)


class _CtrlC:
    """First Ctrl-C: stop the search (trials end cleanly). Second: the usual KeyboardInterrupt."""

    def __init__(self, run: GridRun):
        self.run, self.hit, self._old = run, False, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, *_):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True
        self.run.stop()
        print("\nstopping: running trials end now and are kept; the rest are cancelled (Ctrl-C again to quit)",
              file=sys.stderr)

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def run(args) -> int:
    """Run the search; 0 when every trial finished, 1 when some did not, 130 after Ctrl-C."""
    from tqdm import tqdm

    from . import grid_table

    spec = build_spec(args)
    words, data_name = _words(args)
    grid = GridRun(spec, words, data_name, runs_dir=args.runs_dir, jobs=args.jobs, backend=args.backend,
                   scheduler=args.scheduler, data_default=args.data is None)
    where = f"a Dask cluster ({args.scheduler or 'local'})" if args.backend == "dask" else f"{grid.jobs} worker process(es)"
    print(f"search {grid.sweep}: {len(grid.trials)} trial(s) of {', '.join(spec.varied) or 'one setting'} on {where}",
          file=sys.stderr)
    bar = tqdm(total=len(grid.trials), unit="trial", file=sys.stderr, dynamic_ncols=True,
               disable=args.no_progress or not sys.stderr.isatty() and not args.progress)
    results, best, t0 = [], None, time.perf_counter()
    with _CtrlC(grid) as ctrl_c:
        for r in grid.results():
            results.append(r)
            if r.dev_loss is not None and (best is None or r.dev_loss < best):
                best = r.dev_loss
            bar.update(1)
            bar.set_postfix(best_dev=f"{best:.4f}" if best is not None else "–", refresh=False)
    bar.close()
    seconds = time.perf_counter() - t0
    table = grid_table.rows(results, spec.varied)
    print(grid_table.text_table(table))
    for row in table:
        if row["message"] and row["status"] != "cancelled":
            print(f"trial {row['trial']}: {row['status']}: {row['message']}", file=sys.stderr)
    n_ok = sum(r.status == "finished" for r in results)
    print(f"{n_ok} of {len(results)} trial(s) finished in {seconds:.1f} s · search {grid.sweep} · runs in {grid.runs_dir}")
    if args.csv is not None:
        print(f"results → {grid_table.write_csv(args.csv, table, spec.varied)}")
    if args.json:
        trials = [r.to_dict() for r in sorted(results, key=lambda r: r.index)]
        print(json.dumps({"sweep": grid.sweep, "backend": args.backend, "jobs": grid.jobs, "seconds": round(seconds, 3),
                          "varied": list(spec.varied), "trials": trials}))
    if ctrl_c.hit:
        return 130
    return 0 if n_ok == len(results) else 1
