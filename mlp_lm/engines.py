"""Which engine trains a run, and how a run starts at once on a machine that has never compiled the fused kernel.

The fused numba kernel (kernel.py, driven by fast.py) is compiled on a machine's first run and cached on disk (numba's cache=True): a
few seconds on a quiet machine, ~20 s on a busy one. So with engine "auto" on the CPU, a run whose kernel is not in
the cache yet
  1. starts training at once on the autograd reference engine (reference.py),
  2. while a separate, low-priority process compiles the kernel into the cache (`start_warmup`: the other core
     does the work, and the server or CLI process never holds the GIL for it),
  3. and, at the first chunk boundary after the cache is ready, hands its parameters and optimiser state over to
     the fused kernel (`to_fast`) and carries on there. Both engines compute the same steps to float32 rounding
     (tests/test_fast.py checks it), so the run continues as it would have on either.
torch and the engines are imported where they are used: a server starts the warm-up before it has loaded torch
(explorer/server_start.py).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .config import PARAM_NAMES, TrainConfig
from .errors import ConfigError

if TYPE_CHECKING:
    import torch

    from .reference import ReferenceEngine

ROOT = Path(__file__).resolve().parent.parent
_warmup: subprocess.Popen | None = None  # this process's warm-up compiler (process state, like numba's own cache)
_warmup_lock = threading.Lock()  # the server's start-up thread and a session's first run may both ask at once


def resolve_device(device: str) -> torch.device:
    """The asked-for device, or a ConfigError saying it is not present."""
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but no CUDA GPU is available; use 'cpu'")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device 'mps' was asked for but Apple's MPS is not available; use 'cpu'")
    return torch.device(device)


def make_engine(params, Xtr, Ytr, cfg: TrainConfig):
    """The fast fused CPU kernel when it applies ("auto" on CPU), the autograd reference otherwise."""
    from .reference import ReferenceEngine

    if cfg.engine == "reference" or (cfg.engine == "auto" and cfg.device != "cpu"):
        return ReferenceEngine(params, Xtr, Ytr, cfg)
    if cfg.device != "cpu":
        raise ConfigError("the fast engine runs on the CPU only; use engine 'reference' on an accelerator")
    from .fast import FastEngine

    return FastEngine(params, Xtr, Ytr, cfg)


def kernel_cached() -> bool:
    """True if numba's on-disk cache holds the fused kernel for this machine (loading it then takes ~0.5 s).

    Reads numba's cache index (numba 0.68's FunctionCache); anything unexpected counts as "not cached".
    """
    try:
        from . import kernel

        dispatchers = (kernel._train, kernel._forward_backward, kernel._views, kernel._scratch)
        magic = kernel._train.targetctx.codegen().magic_tuple()
        return all(any(key[1] == magic for key in d._cache._cache_file._load_index()) for d in dispatchers)
    except Exception:
        return False


def start_warmup() -> subprocess.Popen:
    """Compile the kernel into the cache in a background process with low priority; one per process at a time.

    The process first checks the cache itself and ends at once if the kernel is there, so a server can call this
    as it starts without importing numba (~1 s) in its own first page run.
    """
    global _warmup
    with _warmup_lock:
        if _warmup is None or _warmup.poll() not in (None, 0):
            code = ("import os, sys; os.nice(10); import torch; torch.set_num_threads(1); from mlp_lm import engines\n"
                    "if not engines.kernel_cached():\n    from mlp_lm.fast import warmup; warmup()")
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
            _warmup = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _warmup


def warmup_state() -> str | None:
    """None (no warm-up started here), "running", "done" or "failed" (then runs stay on the reference engine)."""
    if _warmup is None:
        return None
    code = _warmup.poll()
    return "running" if code is None else "done" if code == 0 else "failed"


def first_engine(params, Xtr, Ytr, cfg: TrainConfig):
    """(engine, hand over later?): the reference engine plus a warm-up when "auto" would wait for a compile.

    While this process's warm-up still runs (compiling the kernel, or checking numba's cache as a server starts),
    the run starts on the reference engine at once: finding out for itself would import numba in the training
    thread first (~1 s on a busy machine, before the first step of a teacher's first Start)."""
    if cfg.engine == "auto" and cfg.device == "cpu" and (warmup_state() == "running" or not kernel_cached()):
        from .reference import ReferenceEngine

        start_warmup()
        return ReferenceEngine(params, Xtr, Ytr, cfg), True
    return make_engine(params, Xtr, Ytr, cfg), False


def ready_to_hand_over() -> bool | None:
    """True once the warm-up has filled the cache, False while it works, None if it failed (stay where you are)."""
    state = warmup_state()
    if state == "failed":
        return None
    return state != "running" and kernel_cached()


def to_fast(engine: ReferenceEngine, Xtr, Ytr, cfg: TrainConfig):
    """A FastEngine that continues `engine`'s run: the same parameters, Adam moments and step count."""
    import torch

    from .fast import FastEngine

    fast = FastEngine(engine.params(), Xtr, Ytr, cfg)
    if engine.opt is not None:
        moments = {"exp_avg": [], "exp_avg_sq": []}
        steps = set()
        for name in PARAM_NAMES:
            state = engine.opt.state.get(engine.p[name], {})
            if not state:  # no step taken yet: nothing to carry over
                return fast
            for key in moments:
                moments[key].append(state[key].detach().cpu().numpy().astype(np.float32).ravel())
            steps.add(int(torch.as_tensor(state["step"]).item()))
        fast.m[:] = np.concatenate(moments["exp_avg"])
        fast.v[:] = np.concatenate(moments["exp_avg_sq"])
        fast.t = steps.pop() if len(steps) == 1 else max(steps)
    return fast
