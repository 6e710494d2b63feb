"""The CLI's commands (parsed by cli.py): train, runs, sample, score, sweep. Each returns the exit status.

`train` records its run in the run store as it goes and, on Ctrl-C, stops, saves what was trained and says where.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from .chars import printable
from .cli import resolve_configs
from .errors import CheckpointError, MLPLMError

PROGRESS_SECONDS = 5.0  # without a terminal, one progress line this often


def check_out(out: Path) -> Path:
    """`--out`, checked before any training: a regular file we can create or replace (never a link or a device)."""
    if out.is_symlink():
        raise CheckpointError(f"--out {out} is a symbolic link; give the path of a regular file")
    if out.exists() and out.is_dir():
        raise CheckpointError(f"--out {out} is a folder; give a file name such as {out / 'model.safetensors'}")
    if out.exists() and not out.is_file():
        raise CheckpointError(f"--out {out} is not a regular file (a device, a FIFO or a socket); give a file path")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=out.parent)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise CheckpointError(f"cannot write --out {out}: {e.strerror or e}") from None
    return out


def _dataset(args, block_size: int):
    from .data import load_dataset

    return load_dataset(args.data, block_size)


class Progress:
    """A tqdm bar on a terminal (shown from the first trained chunk, so no loss=nan or wild ETA), else a short line
    every PROGRESS_SECONDS on stderr; nothing with --no-progress."""

    def __init__(self, total: int, mode: str):
        self.total, self.mode, self.bar, self.last = total, mode, None, time.monotonic()

    def __call__(self, s) -> None:
        if self.mode == "off" or s.step == 0:
            return
        if self.mode == "bar":
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=self.total, unit="step", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
            self.bar.update(s.step - self.bar.n)
            self.bar.set_postfix(loss=f"{s.last_loss:.3f}", lr=f"{s.lr:.3g}", refresh=False)
        elif time.monotonic() - self.last >= PROGRESS_SECONDS:
            self.last = time.monotonic()
            left = (s.steps - s.step) / s.steps_per_s if s.steps_per_s else float("nan")
            print(f"step {s.step:,}/{s.steps:,} · loss {s.last_loss:.3f} · {s.steps_per_s:,.0f} steps/s · "
                  f"{left:,.0f} s left", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_train(args) -> int:
    from . import checkpoint
    from .model import evaluate
    from .runs import DataInfo, RunStore
    from .trainer import Trainer

    out = check_out(args.out) if args.out is not None else None  # before training: a run is never lost to a bad path
    store = RunStore(args.runs_dir)
    store.ensure_root()
    probe, _ = resolve_configs(args, 27)  # block_size is needed before the vocabulary is known
    ds = _dataset(args, probe.block_size)
    mcfg, tcfg = resolve_configs(args, len(ds.vocab))
    trainer = Trainer(ds, mcfg, tcfg)
    words = list(ds.words)
    data = DataInfo.of(words, args.data.name if args.data else "names.txt (default)", default=args.data is None)
    rec = store.recorder(trainer, data, source="cli", name=args.name, words=words)
    mode = "off" if args.no_progress else "bar" if sys.stderr.isatty() or args.progress else "lines"
    progress = Progress(tcfg.steps, mode)
    trainer.add_callback("on_chunk", progress)
    trainer.add_callback("on_eval", progress)
    t0 = time.perf_counter()
    interrupted = False
    # The training thread (and any native thread it starts) must never take Ctrl-C's signal: blocked while it is
    # started, so it inherits the block, then unblocked here — the main thread takes it and stops the run.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        trainer.start()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:  # sleep, not Thread.join: a join interrupted by Ctrl-C can leave the thread looking dead (CPython gh-90882)
        while trainer.alive and not trainer.snapshot().done:
            time.sleep(0.1)
    except KeyboardInterrupt:  # Ctrl-C: end the run where it is; the recorder saves it
        interrupted = True
        trainer.stop(timeout=60)
    trainer.wait(60)
    seconds = time.perf_counter() - t0
    progress.close()
    s = trainer.snapshot()
    final = s.final or {name: evaluate(s.params, *ds.split(name)) for name in ("train", "dev", "test")}
    losses = {f"{k}_loss": v for k, v in final.items()}
    if out is not None:
        checkpoint.save(out, s.params, mcfg, ds.vocab, tcfg, extra={"status": s.status, "step": s.step, **losses})
    result = {"run_id": rec.run_id, "status": s.status, "steps": s.step, "seconds": round(seconds, 3),
              "steps_per_s": round(s.step / s.elapsed, 1) if s.elapsed else 0.0,
              **{k: round(v, 4) for k, v in losses.items()}, "parameters": mcfg.n_params,
              "run_dir": str(rec.path), "checkpoint": str(out if out is not None else rec.path / "model.safetensors")}
    if s.message:
        print(s.message, file=sys.stderr)
    if rec.error:
        print(f"warning: the run could not be recorded in {store.root}: {rec.error}", file=sys.stderr)
    if interrupted:
        print(f"interrupted at step {s.step:,}: the model trained so far is saved in {result['checkpoint']}",
              file=sys.stderr)
    print(f"train {losses['train_loss']:.4f}  dev {losses['dev_loss']:.4f}  test {losses['test_loss']:.4f}  "
          f"({s.step:,} steps in {seconds:.1f} s, {result['steps_per_s']:,.0f} steps/s) · run {rec.run_id} "
          f"→ {result['checkpoint']}")
    if args.json:
        print(json.dumps(result))
    return 130 if interrupted else 0 if s.status == "finished" else 1


def _run_row(r) -> dict:
    fin, last = r.final or {}, r.last_eval or {}
    return {"id": r.id, "name": r.name, "status": r.status, "step": r.step, "steps": r.steps,
            "train_loss": fin.get("train_loss", last.get("train_loss")), "dev_loss": r.dev_loss,
            "test_loss": fin.get("test_loss"), "seconds": r.seconds, "steps_per_s": r.steps_per_s,
            "created": r.created, "source": r.source, "sweep": r.sweep, "pinned": r.pinned,
            "parameters": r.n_params, "data": r.data.get("name"), "settings": r.settings}


def cmd_runs(args) -> int:
    from .runs import RunStore

    store = RunStore(args.runs_dir)
    runs, notes = store.list()
    for n in notes:
        print(f"note: {printable(n)}", file=sys.stderr)
    rows = [_run_row(r) for r in runs]
    if not rows:
        print(f"no runs in {store.root} yet: `python -m mlp_lm train` records one", file=sys.stderr)
    else:
        f = lambda v: "—" if v is None else f"{v:.4f}"  # noqa: E731
        print(f"{'id':<21} {'status':<9} {'steps':>11} {'dev':>7} {'test':>7} {'time':>7}  name")
        for r in rows:
            print(f"{r['id']:<21} {r['status']:<9} {r['step']:>11,} {f(r['dev_loss']):>7} {f(r['test_loss']):>7} "
                  f"{r['seconds']:>6.1f}s  {printable(r['name'])}")
    if args.json:
        print(json.dumps(rows))
    return 0


def _load_model(args):
    from . import checkpoint
    from .runs import RunStore

    if args.run is not None:
        store = RunStore(args.runs_dir)
        return store.load_checkpoint(store.resolve(args.run))
    return checkpoint.load(args.checkpoint)


def cmd_sample(args) -> int:
    from .sampler import sample

    ck = _load_model(args)
    out = sample(ck.params, ck.vocab, ck.model_cfg.block_size, args.n, seed=args.seed, temperature=args.temperature,
                 top_k=args.top_k, top_p=args.top_p, max_len=args.max_len)
    names = [s.name for s in out]
    print(json.dumps({"names": names}) if args.json else "\n".join(printable(n) for n in names))
    return 0


def cmd_score(args) -> int:
    from .sampler import score

    ck = _load_model(args)
    rows = []
    for name in args.names:
        sc = score(ck.params, ck.vocab, ck.model_cfg.block_size, name)
        rows.append({"name": name, "nll": sc.nll, "mean_nll": sc.mean_nll, "probs": [float(p) for p in sc.probs]})
        if not args.json:
            chars = " ".join(f"{printable(c)}:{p:.3f}" for c, p in zip(name + ".", sc.probs))
            print(f"{printable(name)}: nll {sc.nll:.3f} (mean {sc.mean_nll:.3f})  {chars}")
    if args.json:
        print(json.dumps(rows))
    return 0


def cmd_sweep(args) -> int:
    from . import atomic
    from .model import init_params
    from .sweep import lr_sweep

    probe, _ = resolve_configs(args, 27)
    ds = _dataset(args, probe.block_size)
    mcfg, tcfg = resolve_configs(args, len(ds.vocab))
    params = init_params(mcfg, tcfg.seed)
    r = lr_sweep(params, (ds.Xtr, ds.Ytr), mcfg, lr_min=args.lr_min, lr_max=args.lr_max, num=args.num,
                 batch_size=tcfg.batch_size, seed=tcfg.seed, optimizer=tcfg.optimizer, weight_decay=tcfg.weight_decay)
    for name, (lr, loss) in r.suggestions.items():
        print(f"{name:>14}: lr {lr:.3g}  (smoothed loss {loss:.3f})")
    if args.csv is not None:
        try:
            atomic.write_text(args.csv, "lr,loss,smoothed\n" + "".join(
                f"{a:.6g},{b:.6g},{c:.6g}\n" for a, b, c in zip(r.lrs.tolist(), r.losses.tolist(), r.smoothed.tolist())))
        except OSError as e:
            raise MLPLMError(f"cannot write --csv {args.csv}: {e.strerror or e}") from None
    if args.json:
        res = {"suggestions": {k: {"lr": v[0], "loss": v[1]} for k, v in r.suggestions.items()},
               "points": len(r.losses), "requested": r.num_requested, "stopped_early": r.stopped_early,
               "lr_min": args.lr_min, "lr_max": float(r.lrs[-1]) if len(r.lrs) else args.lr_max}
        if args.curve:
            res.update(lrs=r.lrs.tolist(), losses=r.losses.tolist(), smoothed=r.smoothed.tolist())
        print(json.dumps(res))
    return 0
