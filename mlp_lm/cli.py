"""Command line: python -m mlp_lm train | sweep | sample | score  (every config field is a flag).

    python -m mlp_lm train --preset fast --out runs/fast.safetensors
    python -m mlp_lm sweep --json
    python -m mlp_lm sample --checkpoint runs/fast.safetensors -n 10
    python -m mlp_lm score --checkpoint runs/fast.safetensors emma zqxj

Settings resolve as: the dataclass defaults (the lecture's recipe) < --preset < explicit flags.
Bad input exits with status 2 and one line on stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import fields
from pathlib import Path

from .config import ENGINES, OPTIMIZERS, TrainConfig
from .errors import CheckpointError, MLPLMError
from .model import INITS, ModelConfig
from .presets import PRESETS, split_preset
from .schedule import SCHEDULES

MODEL_FLAGS = {"block_size": int, "emb_dim": int, "hidden": int}
TRAIN_FLAGS = {"steps": int, "batch_size": int, "lr": float, "lr2": float, "decay_step": int, "weight_decay": float,
               "seed": int, "eval_interval": int, "eval_train_rows": int, "threads": int}


def _add_config_flags(p: argparse.ArgumentParser, train: bool = True) -> None:
    p.add_argument("--data", type=Path, default=None, help="one name per line (default: data/names.txt)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="a named recipe; explicit flags override it")
    for name, typ in MODEL_FLAGS.items():
        p.add_argument("--" + name.replace("_", "-"), type=typ, default=None)
    p.add_argument("--init", choices=INITS, default=None)
    if train:
        for name, typ in TRAIN_FLAGS.items():
            p.add_argument("--" + name.replace("_", "-"), type=typ, default=None)
        p.add_argument("--optimizer", choices=OPTIMIZERS, default=None)
        p.add_argument("--schedule", choices=SCHEDULES, default=None)
        p.add_argument("--engine", choices=ENGINES, default=None)
        p.add_argument("--device", default=None, help="cpu (default), cuda or mps")


def resolve_configs(args, vocab_size: int) -> tuple[ModelConfig, TrainConfig]:
    """Defaults < preset < explicit flags."""
    model_kw, train_kw = split_preset(args.preset) if args.preset else ({}, {})
    for f in fields(ModelConfig):
        if getattr(args, f.name, None) is not None:
            model_kw[f.name] = getattr(args, f.name)
    for f in fields(TrainConfig):
        if getattr(args, f.name, None) is not None:
            train_kw[f.name] = getattr(args, f.name)
    return ModelConfig(vocab_size=vocab_size, **model_kw), TrainConfig(**train_kw)


def _writable(out: Path) -> Path:
    """The checkpoint path, its folder created; a folder or an unwritable place is refused with one line."""
    if out.is_dir():
        raise CheckpointError(f"--out {out} is a folder; give a file name such as {out / 'model.safetensors'}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CheckpointError(f"cannot create the folder for --out {out}: {e.strerror or e}") from None
    if not os.access(out.parent, os.W_OK):
        raise CheckpointError(f"cannot write --out {out}: the folder is not writable")
    return out


def _dataset(args, block_size: int):
    from .data import load_dataset

    return load_dataset(args.data, block_size)


def cmd_train(args) -> int:
    from tqdm import tqdm

    from . import checkpoint
    from .model import evaluate
    from .trainer import Trainer

    out = _writable(Path(args.out))  # before training, so a run is never lost to a bad path
    probe, _ = resolve_configs(args, 27)  # block_size is needed before the vocabulary is known
    ds = _dataset(args, probe.block_size)
    mcfg, tcfg = resolve_configs(args, len(ds.vocab))
    trainer = Trainer(ds, mcfg, tcfg)
    bar = tqdm(total=tcfg.steps, unit="step", disable=args.no_progress or not sys.stderr.isatty() and not args.progress,
               file=sys.stderr, dynamic_ncols=True)

    def on_chunk(s):
        bar.update(s.step - bar.n)
        bar.set_postfix(loss=f"{s.last_loss:.3f}", lr=f"{s.lr:.3g}", refresh=False)

    trainer.add_callback("on_chunk", on_chunk)
    trainer.add_callback("on_eval", on_chunk)
    t0 = time.perf_counter()
    s = trainer.run()
    seconds = time.perf_counter() - t0
    bar.close()
    losses = {f"{name}_loss": evaluate(s.params, *ds.split(name)) for name in ("train", "dev", "test")}
    checkpoint.save(out, s.params, mcfg, ds.vocab, tcfg, extra={"status": s.status, "step": s.step, **losses})
    result = {"status": s.status, "steps": s.step, "seconds": round(seconds, 3),
              "steps_per_s": round(s.step / s.elapsed, 1) if s.elapsed else 0.0,
              **{k: round(v, 4) for k, v in losses.items()}, "parameters": mcfg.n_params, "checkpoint": str(out)}
    if s.message:
        print(s.message, file=sys.stderr)
    print(f"train {losses['train_loss']:.4f}  dev {losses['dev_loss']:.4f}  test {losses['test_loss']:.4f}  "
          f"({s.step:,} steps in {seconds:.1f} s, {result['steps_per_s']:,.0f} steps/s) → {out}")
    if args.json:
        print(json.dumps(result))
    return 0 if s.status == "finished" else 1


def cmd_sweep(args) -> int:
    from .model import init_params
    from .sweep import lr_sweep

    probe, _ = resolve_configs(args, 27)
    ds = _dataset(args, probe.block_size)
    mcfg, tcfg = resolve_configs(args, len(ds.vocab))
    params = init_params(mcfg, tcfg.seed)
    r = lr_sweep(params, (ds.Xtr, ds.Ytr), mcfg, lr_min=args.lr_min, lr_max=args.lr_max, num=args.num,
                 batch_size=tcfg.batch_size, seed=tcfg.seed)
    for name, (lr, loss) in r.suggestions.items():
        print(f"{name:>12}: lr {lr:.3g}  (smoothed loss {loss:.3f})")
    if args.json:
        print(json.dumps({"suggestions": {k: {"lr": v[0], "loss": v[1]} for k, v in r.suggestions.items()},
                          "lrs": [float(x) for x in r.lrs], "losses": [float(x) for x in r.losses]}))
    return 0


def cmd_sample(args) -> int:
    from . import checkpoint
    from .sampler import sample

    ck = checkpoint.load(args.checkpoint)
    out = sample(ck.params, ck.vocab, ck.model_cfg.block_size, args.n, seed=args.seed, temperature=args.temperature,
                 top_k=args.top_k, top_p=args.top_p, max_len=args.max_len)
    names = [s.name for s in out]
    if args.json:
        print(json.dumps({"names": names}))
    else:
        print("\n".join(names))
    return 0


def cmd_score(args) -> int:
    from . import checkpoint
    from .sampler import score

    ck = checkpoint.load(args.checkpoint)
    rows = []
    for name in args.names:
        sc = score(ck.params, ck.vocab, ck.model_cfg.block_size, name)
        rows.append({"name": name, "nll": sc.nll, "mean_nll": sc.mean_nll, "probs": [float(p) for p in sc.probs]})
        if not args.json:
            chars = " ".join(f"{c}:{p:.3f}" for c, p in zip(name + ".", sc.probs))
            print(f"{name}: nll {sc.nll:.3f} (mean {sc.mean_nll:.3f})  {chars}")
    if args.json:
        print(json.dumps(rows))
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr, exit 2 (argparse would also print the usage)
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m mlp_lm", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a model and write a checkpoint")
    _add_config_flags(t)
    t.add_argument("--out", default="runs/mlp_lm.safetensors", help="checkpoint path (safetensors)")
    t.add_argument("--json", action="store_true", help="print one JSON object of results on the last line")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--progress", action="store_true", help="progress bar even when stderr is not a terminal")
    s = sub.add_parser("sweep", help="the lecture's learning-rate range test, with suggestions")
    _add_config_flags(s)
    s.add_argument("--lr-min", type=float, default=1e-3)
    s.add_argument("--lr-max", type=float, default=1.0)
    s.add_argument("--num", type=int, default=1000)
    s.add_argument("--json", action="store_true")
    for name, helptext in (("sample", "generate names from a checkpoint"), ("score", "per-character probabilities of names")):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("--checkpoint", required=True, type=Path)
        c.add_argument("--json", action="store_true")
    sm = sub.choices["sample"]
    sm.add_argument("-n", type=int, default=20, help="how many names")
    sm.add_argument("--seed", type=int, default=2147483647)
    sm.add_argument("--temperature", type=float, default=1.0)
    sm.add_argument("--top-k", type=int, default=None)
    sm.add_argument("--top-p", type=float, default=None)
    sm.add_argument("--max-len", type=int, default=50)
    sub.choices["score"].add_argument("names", nargs="+")
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"train": cmd_train, "sweep": cmd_sweep, "sample": cmd_sample, "score": cmd_score}[args.command]
    try:
        return handler(args)
    except MLPLMError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
