"""Which model the inside-the-model views show (the Forward pass page, the Train page's activation health): the
current run's latest parameters, live while it trains, or — before any run — a fresh init from the sidebar settings,
the very model **Start** would train (same settings, same seed).

Plain Python, no Streamlit: pages pass the holder and the sidebar's values and get one immutable `Source`.
A run opened from the Runs page (`holder.view()`) is shown where a page asks for it (`current(..., opened=True)`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

import torch

from mlp_lm.config import TrainConfig
from mlp_lm.data import Dataset
from mlp_lm.model import ModelConfig, init_params

from .settings import build_configs


@dataclass(frozen=True)
class Source:
    params: Mapping[str, torch.Tensor]   # C, W1, b1, W2, b2: CPU copies (a snapshot's, or a cached fresh init)
    model_config: ModelConfig
    train_config: TrainConfig
    dataset: Dataset                     # its vocabulary is the model's; minibatches come from its training split
    label: str                           # what the page says it shows, e.g. "run 3 · step 1,200 of 200,000 (running)"
    key: str                             # changes whenever the numbers can have changed (cache key for figures)
    run: int | None                      # holder.run_id; None for a fresh init
    step: int
    status: str                          # the snapshot's status, or "fresh init"
    snapshot: object = None              # the trainer's Snapshot (None for a fresh init)

    @property
    def fresh(self) -> bool:
        return self.run is None


@lru_cache(maxsize=8)
def fresh_params(model_cfg: ModelConfig, seed: int) -> Mapping[str, torch.Tensor]:
    """init_params(model_cfg, seed), drawn once per (settings, seed) and shared read-only."""
    return MappingProxyType(init_params(model_cfg, seed))


def current(holder, values: dict, opened: bool = False) -> Source:
    """The model to show; raises MLPLMError when there is no run and the sidebar settings are not valid.

    opened: a run opened from the Runs page (holder.view()) comes first, when the data it was trained on is known.
    """
    view = holder.view() if opened else None
    if view is not None and view.opened and view.dataset is not None:
        return Source(MappingProxyType(view.params), view.model_config, TrainConfig(), view.dataset,
                      f"run {view.label} (opened from Runs) · step {view.step:,} ({view.status})",
                      f"opened:{view.run_id}", 0, view.step, view.status)
    snap = holder.snapshot()
    if snap is not None:
        ds = holder.run_dataset()
        label = f"run {holder.run_id} · step {snap.step:,} of {snap.steps:,} ({snap.status})"
        return Source(MappingProxyType(snap.params), snap.model_config, snap.train_config, ds, label,
                      f"run{holder.run_id}:v{snap.version}", holder.run_id, snap.step, snap.status, snap)
    ds = holder.dataset(int(values["block_size"]))
    model, train = build_configs(values, len(ds.vocab))
    label = (f"no run yet: a fresh init from the sidebar settings (init “{model.init}”, seed {train.seed}) — the model "
             "Start would train")  # plain text: pages escape labels (a run's label carries its user-given name)
    key = f"fresh:{holder.names.fingerprint}:{model}:{train.seed}"
    return Source(fresh_params(model, train.seed), model, train, ds, label, key, None, 0, "fresh init")
