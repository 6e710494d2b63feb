"""Command line: python -m mlp_lm train | runs | sample | score | sweep | grid  (every setting is a flag).

    python -m mlp_lm train --preset fast               # trains, and records the run in runs/ (see `runs`)
    python -m mlp_lm runs                              # the run store, newest first
    python -m mlp_lm sample --run latest -n 10         # or --checkpoint PATH
    python -m mlp_lm score --run latest emma zqxj
    python -m mlp_lm sweep --json                      # the lecture's learning-rate range test

Settings resolve as: the dataclass defaults (the lecture's recipe) < --preset < explicit flags. This module builds
the parser without importing torch, so --help answers at once; the commands are in cli_commands.py.
Bad input exits with status 2 and one line on stderr.
"""
from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from .config import ENGINES, INITS, OPTIMIZERS, TrainConfig
from .presets import PRESETS, split_preset
from .schedule import SCHEDULES

_LECTURE = PRESETS["lecture"]  # the defaults shown in --help: the lecture's recipe (= the dataclass defaults)
_T = TrainConfig()

# flag → (type, help, group); "model" flags go to ModelConfig, "training" flags to TrainConfig
MODEL_FLAGS = {
    "block_size": (int, f"characters of context the model sees (default {_LECTURE['block_size']})"),
    "emb_dim": (int, f"size of each character's embedding row in C (default {_LECTURE['emb_dim']})"),
    "hidden": (int, f"tanh units in the hidden layer (default {_LECTURE['hidden']})"),
    "init": (str, f"{' | '.join(INITS)}: the notebook's plain randn draws, or part 3's fixes (default "
                  f"{_LECTURE['init']})"),
}
TRAIN_FLAGS = {
    "steps": (int, f"optimisation steps (default {_T.steps:,})"),
    "batch_size": (int, f"examples per minibatch, drawn with replacement (default {_T.batch_size})"),
    "optimizer": (str, f"{' | '.join(OPTIMIZERS)} (default {_T.optimizer})"),
    "lr": (float, f"learning rate; the peak rate for cosine / onecycle (default {_T.lr:g})"),
    "lr2": (float, f"the decayed rate of the step schedule, the final rate of cosine (default {_T.lr2:g})"),
    "decay_step": (int, "step where the step schedule switches to lr2 (default: half way)"),
    "schedule": (str, f"{' | '.join(SCHEDULES)} (default {_T.schedule})"),
    "weight_decay": (float, f"L2 penalty (sgd, adam) or decoupled decay (adamw) (default {_T.weight_decay:g})"),
    "seed": (int, f"seeds the init and (with seed+1) the minibatches (default {_T.seed}, the notebook's)"),
    "eval_interval": (int, f"evaluate train/dev loss every this many steps; 0 = only at the end (default "
                           f"{_T.eval_interval:,})"),
    "eval_train_rows": (int, f"training rows in the periodic train-loss estimate (default {_T.eval_train_rows:,})"),
    "threads": (int, f"torch / BLAS threads for the run (default {_T.threads}: fastest for this model)"),
    "engine": (str, f"{' | '.join(ENGINES)}: the fused CPU kernel, autograd, or fast on the CPU (default "
                    f"{_T.engine})"),
    "device": (str, f"cpu, cuda or mps; an accelerator is used only when asked and present (default {_T.device})"),
}
CHOICES = {"init": INITS, "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "engine": ENGINES}
RUNS_HELP = "the run store's folder (default: $MLP_LM_RUNS_DIR, else runs/ in the repository)"


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_config_flags(p: argparse.ArgumentParser, train: bool = True, value_type=None) -> None:
    """The data, model and (if `train`) training flags, grouped as makemore's CLI does.

    value_type: parse every model/training flag with this instead of its own type (the grid's comma lists).
    """
    g = p.add_argument_group("data")
    g.add_argument("--data", type=Path, default=None, metavar="PATH",
                   help="a UTF-8 text file, one name per line (default: data/names.txt)")
    g.add_argument("--preset", choices=sorted(PRESETS), help="a named recipe; explicit flags override it")
    groups = [("model", MODEL_FLAGS)] + ([("training", TRAIN_FLAGS)] if train else [])
    for title, table in groups:
        g = p.add_argument_group(title)
        for name, (typ, helptext) in table.items():
            kw = {"choices": CHOICES[name]} if name in CHOICES and value_type is None else {}
            g.add_argument(flag(name), type=value_type or typ, default=None, help=helptext, **kw,
                           **({"metavar": name.upper()} if name in CHOICES else {}))


def resolve_configs(args, vocab_size: int):
    """(ModelConfig, TrainConfig): defaults < preset < explicit flags."""
    from .model import ModelConfig

    model_kw, train_kw = split_preset(args.preset) if getattr(args, "preset", None) else ({}, {})
    for f in fields(ModelConfig):
        if getattr(args, f.name, None) is not None:
            model_kw[f.name] = getattr(args, f.name)
    for f in fields(TrainConfig):
        if getattr(args, f.name, None) is not None:
            train_kw[f.name] = getattr(args, f.name)
    return ModelConfig(vocab_size=vocab_size, **model_kw), TrainConfig(**train_kw)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr, exit 2 (argparse would also print the usage)
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _model_source(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", metavar="ID", help="a run in the store: its id, a unique prefix of it, or 'latest'")
    src.add_argument("--checkpoint", type=Path, metavar="PATH", help="a .safetensors file from `train --out` or the app")
    p.add_argument("--runs-dir", type=Path, default=None, help=RUNS_HELP)
    p.add_argument("--json", action="store_true", help="print one JSON value on the last line")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m mlp_lm", description=__doc__.splitlines()[0],
                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a model; the run is recorded in the run store")
    add_config_flags(t)
    o = t.add_argument_group("output")
    o.add_argument("--runs-dir", type=Path, default=None, help=RUNS_HELP)
    o.add_argument("--name", default=None, help="a display name for the run (default: made from its settings)")
    o.add_argument("--out", type=Path, default=None, metavar="PATH",
                   help="also write the checkpoint to this .safetensors file (checked before training starts)")
    o.add_argument("--json", action="store_true", help="print one JSON object of results on the last line")
    o.add_argument("--no-progress", action="store_true", help="no progress output at all")
    o.add_argument("--progress", action="store_true",
                   help="a progress bar even when stderr is not a terminal (else a line every few seconds)")

    r = sub.add_parser("runs", help="list the run store, newest first")
    r.add_argument("--runs-dir", type=Path, default=None, help=RUNS_HELP)
    r.add_argument("--json", action="store_true", help="print one JSON list of runs on the last line")

    for name, helptext in (("sample", "generate names from a trained model"),
                           ("score", "per-character probabilities of names under a trained model")):
        _model_source(sub.add_parser(name, help=helptext))
    sm = sub.choices["sample"]
    sm.add_argument("-n", type=int, default=20, help="how many names (default 20)")
    sm.add_argument("--seed", type=int, default=2147483657, help="sampling seed (default 2147483657, the notebook's)")
    sm.add_argument("--temperature", type=float, default=1.0, help="divides the logits: < 1 picks the likely characters more often, > 1 takes more risks (default 1)")
    sm.add_argument("--top-k", type=int, default=None, help="keep only the k most likely characters (default: off)")
    sm.add_argument("--top-p", type=float, default=None,
                    help="keep the most likely characters up to this total probability (default: off)")
    sm.add_argument("--max-len", type=int, default=50, help="cut a name after this many characters (default 50)")
    sub.choices["score"].add_argument("names", nargs="+", help="the names to score")

    s = sub.add_parser("sweep", help="the lecture's learning-rate range test, with suggestions")
    add_config_flags(s)
    w = s.add_argument_group("sweep")
    w.add_argument("--lr-min", type=float, default=1e-3, help="the first learning rate (default 0.001)")
    w.add_argument("--lr-max", type=float, default=1.0, help="the last learning rate (default 1)")
    w.add_argument("--num", type=int, default=1000, help="steps, one per rate on a log grid (default 1000)")
    w.add_argument("--json", action="store_true", help="print the suggestions and a summary as JSON on the last line")
    w.add_argument("--curve", action="store_true", help="include the whole curve (every rate and loss) in the JSON")
    w.add_argument("--csv", type=Path, default=None, metavar="PATH", help="write the curve as CSV (lr,loss,smoothed)")

    import importlib.util

    if importlib.util.find_spec(f"{__package__}.cli_grid") is not None:
        from . import cli_grid

        cli_grid.add_parser(sub)
    return ap


def main(argv=None) -> int:
    import sys

    from .errors import MLPLMError

    try:
        args = build_parser().parse_args(argv)
        from . import cli_commands

        handler = getattr(cli_commands, f"cmd_{args.command}", None)
        if handler is None:
            from . import cli_grid

            handler = cli_grid.run
        return handler(args)
    except MLPLMError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
