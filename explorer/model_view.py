"""What the model pages (Embeddings, Sampler) show: one immutable `ModelView` of a model — the current run's latest
snapshot, or a run opened from the Runs page — so the pages need not know where the model came from."""
from __future__ import annotations

from dataclasses import dataclass

from mlp_lm.data import Dataset, Vocab
from mlp_lm.config import ModelConfig


@dataclass(frozen=True)
class ModelView:
    params: dict                    # C, W1, b1, W2, b2 as CPU float32 tensors: read, never written
    model_config: ModelConfig
    vocab: Vocab
    dataset: Dataset | None         # the split it was trained on (in-train / dev/test / novel labels); None if unknown
    label: str                      # "run 3" (the current run) or the opened run's name
    run_id: str | None              # its id in the run store (None: not recorded)
    step: int
    status: str
    opened: bool = False            # True: opened from the Runs page (static); False: the current run (live)
    version: int = 0                # the snapshot's version: changes as the current run trains

    @property
    def key(self) -> str:
        """Changes when the model shown becomes another one (not at every training step)."""
        return f"{'opened' if self.opened else 'current'}:{self.run_id}"

    @classmethod
    def of_checkpoint(cls, ck, info, dataset: Dataset | None) -> "ModelView":
        """A stored run's view: its checkpoint (mlp_lm.checkpoint.Checkpoint) and RunInfo; `dataset` is dropped
        unless its vocabulary is the model's."""
        if dataset is not None and dataset.vocab != ck.vocab:
            dataset = None
        extra = ck.extra if isinstance(ck.extra, dict) else {}
        step = extra["step"] if isinstance(extra.get("step"), int) else info.step
        return cls(dict(ck.params), ck.model_cfg, ck.vocab, dataset, info.name, info.id, step,
                   info.status, True, 0)
