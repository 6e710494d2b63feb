"""The reference engine: the lecture's training step with autograd, on any device.

An engine owns the parameters and optimiser state of one run and is driven only by the trainer's thread:
    run(idx, lrs, interrupt=None) -> losses   one step per row of idx (n, batch) with rate lrs[i]; returns the n
                               losses, or fewer if a loss was non-finite (that step made no update) or another thread
                               set interrupt[0] (a one-element array) to ask for an early end
    state() / load_state(s)    deep copies of parameters + optimiser state (for divergence roll-back)
    finite()                   True if every parameter is finite
    params()                   CPU float32 copies of C, W1, b1, W2, b2
The fast engine (fast.py) has the same interface and is tested against this one.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from .config import TrainConfig
from .model import PARAM_NAMES


class ReferenceEngine:
    def __init__(self, params: dict[str, torch.Tensor], Xtr: torch.Tensor, Ytr: torch.Tensor, cfg: TrainConfig):
        dev = torch.device(cfg.device)
        self.p = {k: params[k].detach().to(dev, torch.float32).clone().requires_grad_(True) for k in PARAM_NAMES}
        self.Xtr, self.Ytr = Xtr.to(dev), Ytr.to(dev)
        self.cfg = cfg
        plist = list(self.p.values())
        if cfg.optimizer == "sgd":
            self.opt = None  # the lecture's manual update
        elif cfg.optimizer == "adam":
            self.opt = torch.optim.Adam(plist, lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            self.opt = torch.optim.AdamW(plist, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def step(self, ix: torch.Tensor, lr: float) -> float:
        """One lecture step; returns the loss (before the update). A non-finite loss makes no update."""
        p = self.p
        emb = p["C"][self.Xtr[ix]]
        h = torch.tanh(emb.view(emb.shape[0], -1) @ p["W1"] + p["b1"])
        logits = h @ p["W2"] + p["b2"]
        loss = F.cross_entropy(logits, self.Ytr[ix])
        value = loss.item()
        if not np.isfinite(value):
            return value
        for t in p.values():
            t.grad = None
        loss.backward()
        if self.opt is None:
            with torch.no_grad():
                for t in p.values():
                    if self.cfg.weight_decay:
                        t.grad.add_(t, alpha=self.cfg.weight_decay)
                    t.add_(t.grad, alpha=-lr)
        else:
            for group in self.opt.param_groups:
                group["lr"] = lr
            self.opt.step()
        return value

    def run(self, idx: torch.Tensor, lrs: np.ndarray, interrupt: np.ndarray | None = None) -> np.ndarray:
        idx = idx.to(self.Xtr.device)
        out = []
        for i in range(len(idx)):
            if interrupt is not None and interrupt[0]:
                break
            loss = self.step(idx[i], float(lrs[i]))
            if not np.isfinite(loss):
                break
            out.append(loss)
        return np.asarray(out, dtype=np.float64)

    def state(self):
        return copy.deepcopy(({k: v.detach().clone() for k, v in self.p.items()}, self.opt.state_dict() if self.opt else None))

    def load_state(self, state) -> None:
        params, opt_state = copy.deepcopy(state)
        with torch.no_grad():
            for k, v in params.items():
                self.p[k].copy_(v)
        if self.opt is not None:
            self.opt.load_state_dict(opt_state)

    def finite(self) -> bool:
        """True if no parameter holds a NaN or an infinity."""
        return all(bool(torch.isfinite(v).all()) for v in self.p.values())

    def params(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().to("cpu", torch.float32).clone() for k, v in self.p.items()}
